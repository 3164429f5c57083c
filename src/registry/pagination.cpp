// Parsing of `n`/`last` and building of the `Link` header for listings.
#include "registry/pagination.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <limits>

namespace strata::registry {
namespace {

// Larger `n` values are clamped here: no listing is that long, so the answer
// is the same, and storage never sees a count near its integer limits.
constexpr std::uint64_t kMaxLimit = std::numeric_limits<std::int32_t>::max();

Result<std::size_t> parse_limit(std::string_view text) {
  auto invalid = [&] {
    return fail("PAGINATION_NUMBER_INVALID", "n must be a non-negative integer", std::string(text));
  };
  // from_chars would accept a leading '-' for signed types only, but check
  // explicitly so "+5" and "-0" are rejected too.
  if (text.empty() || text.front() < '0' || text.front() > '9') return invalid();
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return static_cast<std::size_t>(kMaxLimit);
  if (ec != std::errc() || end != text.data() + text.size()) return invalid();
  return static_cast<std::size_t>(std::min(value, kMaxLimit));
}

// Percent-encodes a query component: everything but RFC 3986 unreserved
// characters, so a repository name's '/' cannot be misread.
std::string query_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved)
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace

Result<PageRequest> parse_page_request(const http::Request& request) {
  PageRequest page;
  if (auto n = request.query_param("n")) {
    auto limit = parse_limit(*n);
    if (!limit) return std::unexpected(limit.error());
    page.limit = *limit;
  }
  if (auto last = request.query_param("last")) page.last = std::move(*last);
  return page;
}

void add_next_link(http::Response& response, std::string_view path, const PageRequest& request,
                   bool more, std::string_view last_item) {
  if (!more || !request.limit || *request.limit == 0) return;
  response.headers.set("Link", fmt::format("<{}?n={}&last={}>; rel=\"next\"", path, *request.limit,
                                           query_escape(last_item)));
}

}  // namespace strata::registry
