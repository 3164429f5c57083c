#include "builds/event_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sandbox/sandbox_policy.h"

namespace strata::builds {
namespace {

using nlohmann::json;

// Longer lines are not events this log wrote: a file holding one is cut there.
constexpr std::size_t kMaxEventBytes = 4 << 20;

std::unexpected<Error> io_error(const std::filesystem::path& path, std::string_view what) {
  return fail("IO", std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

// Builder output is not guaranteed to be UTF-8; invalid bytes become U+FFFD
// rather than failing the append.
std::string event_line(const BuildEvent& event) {
  json line = {{"seq", event.seq}, {"type", event_type_name(event.type)}, {"data", event.data}};
  return line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::optional<BuildEvent> parse_event_line(std::string_view line) {
  try {
    json j = json::parse(line);
    BuildEvent event{.seq = j.at("seq").get<std::uint64_t>(), .data = j.at("data").get<std::string>()};
    std::string type = j.at("type").get<std::string>();
    if (type == event_type_name(EventType::status)) event.type = EventType::status;
    else if (type != event_type_name(EventType::log)) return std::nullopt;
    return event;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

bool closes_log(const BuildEvent& event) {
  if (event.type != EventType::status) return false;
  json data = json::parse(event.data, nullptr, /*allow_exceptions=*/false);
  if (!data.is_object() || !data.contains("status") || !data["status"].is_string()) return false;
  auto status = parse_build_status(data["status"].get<std::string>());
  return status && is_final(*status);
}

Result<std::string> read_bytes(int fd, const std::filesystem::path& path, std::uint64_t begin,
                               std::uint64_t end) {
  std::string bytes(end - begin, '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(begin + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(path, "cannot read");
    if (n == 0) return fail("IO", "event log " + path.string() + " is shorter than expected");
    done += static_cast<std::size_t>(n);
  }
  return bytes;
}

Result<void> write_all(int fd, const std::filesystem::path& path, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(path, "cannot append to");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

EventLog::~EventLog() { ::close(fd_); }

// Rebuilds the index from the file, reading it in chunks. Whatever follows
// the last complete, well-formed event in sequence (a line torn by a crash)
// is cut off, so the next append continues a clean sequence.
Result<void> EventLog::load() {
  off_t length = ::lseek(fd_, 0, SEEK_END);
  if (length < 0) return io_error(path_, "cannot size");
  const auto file_size = static_cast<std::uint64_t>(length);
  std::string pending;  // bytes from size_ on not yet indexed: at most one event and a chunk
  std::uint64_t read_to = 0;
  while (!finished_ && read_to < file_size) {
    std::uint64_t chunk_end = std::min<std::uint64_t>(file_size, read_to + kBatchBytes);
    auto chunk = read_bytes(fd_, path_, read_to, chunk_end);
    if (!chunk) return std::unexpected(chunk.error());
    pending += *chunk;
    read_to = chunk_end;
    std::size_t used = 0;
    bool torn = false;
    for (auto newline = pending.find('\n'); newline != std::string::npos && !finished_;
         newline = pending.find('\n', used)) {
      auto event = parse_event_line(std::string_view(pending).substr(used, newline - used));
      if (!event || event->seq != offsets_.size() + 1) {
        torn = true;
        break;
      }
      index_event(*event, newline + 1 - used);
      used = newline + 1;
    }
    pending.erase(0, used);
    if (torn || pending.size() > kMaxEventBytes) break;
  }
  if (size_ != file_size && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0)
    return io_error(path_, "cannot cut the torn end of");
  return {};
}

void EventLog::index_event(const BuildEvent& event, std::uint64_t bytes) {
  offsets_.push_back(size_);
  size_ += bytes;
  if (event.type == EventType::log) log_bytes_ += bytes;
  finished_ = closes_log(event);
}

Result<std::uint64_t> EventLog::append(EventType type, std::string_view data, bool closes) {
  std::lock_guard lock(mutex_);
  if (finished_) return fail("EVENT_LOG_CLOSED", "the build has finished; its event log takes no more events");
  bool log = type == EventType::log;
  if (log && clipped_) return 0;
  BuildEvent event{.seq = offsets_.size() + 1, .type = type, .data = std::string(data)};
  std::string line = event_line(event);
  if (log && max_log_bytes_ > 0 && log_bytes_ + line.size() > max_log_bytes_) {
    clipped_ = true;
    event.data = fmt::format("[output clipped: event log limit {} reached]",
                             sandbox::format_byte_size(static_cast<std::int64_t>(max_log_bytes_)));
    line = event_line(event);
  }
  auto written = write_all(fd_, path_, line);
  if (written && type == EventType::status && ::fdatasync(fd_) != 0) written = io_error(path_, "cannot sync");
  if (!written) {
    // Drop what was written, so the file holds exactly the indexed events.
    (void)::ftruncate(fd_, static_cast<off_t>(size_));
    return std::unexpected(written.error());
  }
  offsets_.push_back(size_);
  size_ += line.size();
  if (log) log_bytes_ += line.size();
  finished_ = closes;
  appended_.notify_all();
  return event.seq;
}

Result<std::uint64_t> EventLog::append_log(std::string_view line) {
  return append(EventType::log, line, false);
}

Result<std::uint64_t> EventLog::append_status(BuildStatus status, std::string_view error) {
  json data = {{"status", status_name(status)}};
  if (!error.empty()) data["error"] = error;
  return append(EventType::status, data.dump(-1, ' ', false, json::error_handler_t::replace), is_final(status));
}

EventLog::Span EventLog::span_after(std::uint64_t after_seq, std::size_t max_bytes) const {
  if (after_seq >= offsets_.size()) return Span{.begin = size_, .end = size_, .finished = finished_};
  std::uint64_t begin = offsets_[after_seq];
  std::uint64_t end = size_;
  if (size_ - begin > max_bytes) {
    // The last event boundary within max_bytes, but at least one event.
    auto first = offsets_.begin() + static_cast<std::ptrdiff_t>(after_seq) + 1;
    auto past = std::upper_bound(first, offsets_.end(), begin + max_bytes);
    if (past != first) end = *(past - 1);
    else end = first != offsets_.end() ? *first : size_;
  }
  return Span{.begin = begin, .end = end, .finished = finished_ && end == size_};
}

Result<EventBatch> EventLog::read_span(const Span& span) const {
  auto bytes = read_bytes(fd_, path_, span.begin, span.end);
  if (!bytes) return std::unexpected(bytes.error());
  EventBatch batch{.finished = span.finished};
  std::string_view rest = *bytes;
  while (!rest.empty()) {
    auto newline = rest.find('\n');
    auto event = newline == std::string_view::npos ? std::nullopt : parse_event_line(rest.substr(0, newline));
    if (!event) return fail("IO", "event log " + path_.string() + " holds a malformed event");
    batch.events.push_back(std::move(*event));
    rest.remove_prefix(newline + 1);
  }
  return batch;
}

Result<EventBatch> EventLog::read_from(std::uint64_t after_seq, std::size_t max_bytes) const {
  Span span;
  {
    std::lock_guard lock(mutex_);
    span = span_after(after_seq, max_bytes);
  }
  return read_span(span);
}

Result<EventBatch> EventLog::wait_for(std::uint64_t after_seq, std::chrono::milliseconds timeout,
                                      std::size_t max_bytes) const {
  Span span;
  {
    std::unique_lock lock(mutex_);
    appended_.wait_for(lock, timeout, [&] { return offsets_.size() > after_seq || finished_; });
    span = span_after(after_seq, max_bytes);
  }
  return read_span(span);
}

std::uint64_t EventLog::last_seq() const {
  std::lock_guard lock(mutex_);
  return offsets_.size();
}

bool EventLog::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

Result<std::shared_ptr<EventLog>> EventLogs::open(std::string_view id) {
  if (!is_valid_build_id(id)) return fail("BUILD_UNKNOWN", "not a build id: " + std::string(id));
  std::lock_guard lock(mutex_);
  if (auto it = open_.find(id); it != open_.end())
    if (auto log = it->second.lock()) return log;

  auto dir = data_dir_ / "builds" / std::string(id);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail("IO", "cannot create " + dir.string() + ": " + ec.message());
  auto path = dir / "events.log";
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return io_error(path, "cannot open");
  std::shared_ptr<EventLog> log(new EventLog(fd, path, max_log_bytes_));
  if (auto ok = log->load(); !ok) return std::unexpected(ok.error());

  std::erase_if(open_, [](const auto& entry) { return entry.second.expired(); });
  open_.insert_or_assign(std::string(id), log);
  return log;
}

}  // namespace strata::builds
