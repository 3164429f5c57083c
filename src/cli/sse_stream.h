// Client-side parser for server-sent events (WHATWG HTML, "Server-sent
// events", the event stream interpretation) as GET /builds/{id}/events sends
// them: bytes go in as they arrive, complete events come out.
//
// Lines end in \n, \r\n or \r (also when the two bytes of \r\n arrive in
// different chunks); `field: value` with one optional space after the colon;
// `data` lines are joined with \n; an `id` sets the last event id, which stays
// until another id replaces it (ids with a NUL are ignored, as the spec says);
// lines starting with ':' are comments; `retry` and unknown fields are
// ignored. An event is dispatched at a blank line, and only if it had data or
// an event type: its type defaults to "message".
//
// Contract: not thread-safe; the handler runs inside feed().
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace strata::cli {

struct SseEvent {
  std::string type;                    // "log", "status", "heartbeat", ...
  std::string data;
  std::optional<std::string> last_id;  // the stream's last event id at dispatch
};

class SseStream {
 public:
  using Handler = std::function<void(const SseEvent&)>;
  explicit SseStream(Handler handler) : handler_(std::move(handler)) {}

  void feed(std::string_view bytes);

  // The last event id seen so far (for Last-Event-ID on a reconnect).
  const std::optional<std::string>& last_id() const { return last_id_; }

 private:
  void line(std::string_view text);

  Handler handler_;
  std::string pending_;        // an incomplete line
  bool skip_lf_ = false;       // the previous chunk ended in \r
  std::string type_;
  std::string data_;
  bool has_data_ = false;
  std::optional<std::string> last_id_;
};

}  // namespace strata::cli
