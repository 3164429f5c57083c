// Server-sent events parser; see sse_stream.h.
#include "cli/sse_stream.h"

namespace strata::cli {

void SseStream::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      skip_lf_ = c == '\r';
      line(pending_);
      pending_.clear();
      continue;
    }
    pending_.push_back(c);
  }
}

void SseStream::line(std::string_view text) {
  if (text.empty()) {
    if (has_data_ || !type_.empty())
      handler_(SseEvent{type_.empty() ? "message" : type_, data_, last_id_});
    type_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (text.front() == ':') return;
  auto colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    type_ = std::string(value);
  } else if (field == "id" && value.find('\0') == std::string_view::npos) {
    last_id_ = std::string(value);
  }
}

}  // namespace strata::cli
