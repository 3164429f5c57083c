// A build's event log: everything a client can watch of one build (builder
// output lines and status changes), append-only on disk at
// <data-dir>/builds/<id>/events.log, one JSON line per event:
//   {"seq":1,"type":"log","data":"#1 [1/3] FROM busybox"}
// Sequence numbers start at 1 and grow by one; they continue from the file
// after a restart, so a client resuming with Last-Event-ID N gets exactly the
// events after N (read_from / wait_for), none lost, none twice.
//
// Bounded: the builder is the untrusted side, so log events may take at most
// `max_log_bytes` of the file (EventLogs' limit; 0: none). The line that would
// pass it is replaced by one marker line, "[output clipped: event log limit
// 65 MiB reached]", and later log lines are dropped; status events are always
// written. Readers page through a log in batches of about kBatchBytes, so
// serving a log takes the same memory however long it is; the index held per
// open log is 8 bytes an event.
//
// Durability: status events are fsync'd; log lines are written to the file
// (they survive a server crash) but not synced one by one. A final status
// event (ready, failed, cancelled) closes the log: it is the last event, and
// later appends are refused (EVENT_LOG_CLOSED).
//
// Thread-safe. EventLogs hands out one shared EventLog per build within the
// process, so followers blocked in wait_for() wake when the writer appends.
// Errors: IO (the file cannot be read or written), BUILD_UNKNOWN (not a build id).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "builds/build_record.h"
#include "common/error.h"

namespace strata::builds {

enum class EventType { log, status };

constexpr std::string_view event_type_name(EventType type) {
  return type == EventType::status ? "status" : "log";
}

struct BuildEvent {
  std::uint64_t seq = 0;
  EventType type = EventType::log;
  // log: one output line. status: {"status":"failed","error":"..."} (error
  // only when there is one).
  std::string data{};
  friend bool operator==(const BuildEvent&, const BuildEvent&) = default;
};

struct EventBatch {
  std::vector<BuildEvent> events{};  // the next events after the asked seq, in order
  bool finished = false;             // the log is closed and `events` reaches its end
};

// About how many bytes of the file one batch holds (at least one event).
inline constexpr std::size_t kBatchBytes = 64 * 1024;

class EventLog {
 public:
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Each returns the seq of the event written; append_log() returns 0 for a
  // line dropped past the log's limit.
  Result<std::uint64_t> append_log(std::string_view line);
  Result<std::uint64_t> append_status(BuildStatus status, std::string_view error = {});

  // The events after after_seq, in order, as many as about max_bytes of the
  // file hold (at least one); empty when there are none yet.
  Result<EventBatch> read_from(std::uint64_t after_seq, std::size_t max_bytes = kBatchBytes) const;

  // Like read_from, but first blocks until there are events after
  // after_seq, the log is closed, or the timeout passes (then the batch is
  // empty and not finished: time for a heartbeat). A follower stops once a
  // batch says finished.
  Result<EventBatch> wait_for(std::uint64_t after_seq, std::chrono::milliseconds timeout,
                              std::size_t max_bytes = kBatchBytes) const;

  std::uint64_t last_seq() const;
  bool finished() const;

 private:
  friend class EventLogs;
  EventLog(int fd, std::filesystem::path path, std::uint64_t max_log_bytes)
      : fd_(fd), path_(std::move(path)), max_log_bytes_(max_log_bytes) {}
  Result<void> load();
  void index_event(const BuildEvent& event, std::uint64_t bytes);
  Result<std::uint64_t> append(EventType type, std::string_view data, bool closes);
  // The bytes holding the events after after_seq, up to about max_bytes;
  // the caller holds mutex_.
  struct Span {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    bool finished = false;
  };
  Span span_after(std::uint64_t after_seq, std::size_t max_bytes) const;
  // Reads written events back; needs no lock, as written bytes never change.
  Result<EventBatch> read_span(const Span& span) const;

  const int fd_;
  const std::filesystem::path path_;
  const std::uint64_t max_log_bytes_;
  mutable std::mutex mutex_;
  mutable std::condition_variable appended_;
  // offsets_[n] is where event n + 1 starts; size_ is where the next one will.
  std::vector<std::uint64_t> offsets_;
  std::uint64_t size_ = 0;
  std::uint64_t log_bytes_ = 0;  // of the file, in log events
  bool clipped_ = false;         // the marker is written; log lines are dropped
  bool finished_ = false;
};

class EventLogs {
 public:
  // max_log_bytes: the limit of every log's log events (0: none).
  explicit EventLogs(std::filesystem::path data_dir, std::uint64_t max_log_bytes = 0)
      : data_dir_(std::move(data_dir)), max_log_bytes_(max_log_bytes) {}

  // The log of build `id`, created empty if it does not exist yet. While any
  // caller holds it, every open() of the same id returns the same object.
  Result<std::shared_ptr<EventLog>> open(std::string_view id);

 private:
  std::filesystem::path data_dir_;
  std::uint64_t max_log_bytes_;
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<EventLog>, std::less<>> open_;
};

}  // namespace strata::builds
