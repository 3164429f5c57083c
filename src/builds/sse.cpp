#include "builds/sse.h"

#include <charconv>

namespace strata::builds {
namespace {

std::string sse_frame(std::optional<std::uint64_t> id, std::string_view type, std::string_view data) {
  std::string out;
  out.reserve(data.size() + 48);
  if (id) out += "id: " + std::to_string(*id) + "\n";
  out += "event: ";
  out += type;
  out += "\n";
  // A line ends at \r\n, \n or \r; each line becomes its own data: field.
  for (;;) {
    auto end = data.find_first_of("\r\n");
    out += "data: ";
    out += data.substr(0, end);
    out += "\n";
    if (end == std::string_view::npos) break;
    std::size_t skip = data.compare(end, 2, "\r\n") == 0 ? 2 : 1;
    data.remove_prefix(end + skip);
  }
  out += "\n";
  return out;
}

}  // namespace

std::string sse_event(const BuildEvent& event) {
  return sse_frame(event.seq, event_type_name(event.type), event.data);
}

std::string sse_heartbeat() { return sse_frame(std::nullopt, "heartbeat", "{}"); }

std::optional<std::uint64_t> parse_last_event_id(std::string_view header) {
  std::uint64_t seq = 0;
  auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seq);
  if (header.empty() || ec != std::errc() || end != header.data() + header.size()) return std::nullopt;
  return seq;
}

}  // namespace strata::builds
