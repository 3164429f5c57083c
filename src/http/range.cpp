// Hand-written parsers for byte-range headers; numbers are checked for
// overflow so a hostile header cannot wrap an offset.
#include "common/text.h"
#include "http/range.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>

namespace strata::http {
namespace {

std::unexpected<Error> range_invalid(std::string message, std::string_view value) {
  return fail("RANGE_INVALID", std::move(message), std::string(value));
}



// Digits only (no sign, no spaces), fitting in 64 bits.
std::optional<std::uint64_t> parse_offset(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

// "<a>-<b>" with both ends present and a <= b.
std::optional<ByteRange> parse_closed_range(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = parse_offset(text.substr(0, dash));
  auto last = parse_offset(text.substr(dash + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  return ByteRange{*first, *last};
}

enum class Spec { malformed, unsatisfiable, satisfiable };

// One range-spec of a Range header against a blob of `size` bytes.
Spec resolve_one(std::string_view spec, std::uint64_t size, ByteRange& out) {
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return Spec::malformed;
  auto first_text = spec.substr(0, dash);
  auto last_text = spec.substr(dash + 1);
  if (first_text.empty()) {  // suffix: the last n bytes
    auto n = parse_offset(last_text);
    if (!n) return Spec::malformed;
    if (*n == 0 || size == 0) return Spec::unsatisfiable;
    out = {size - std::min(*n, size), size - 1};
    return Spec::satisfiable;
  }
  auto first = parse_offset(first_text);
  if (!first) return Spec::malformed;
  std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
  if (!last_text.empty()) {
    auto parsed = parse_offset(last_text);
    if (!parsed || *parsed < *first) return Spec::malformed;
    last = *parsed;
  }
  if (*first >= size) return Spec::unsatisfiable;
  out = {*first, std::min(last, size - 1)};
  return Spec::satisfiable;
}

}  // namespace

Result<ByteRange> resolve_range_header(std::string_view value, std::uint64_t size) {
  auto text = trim(value);
  if (!istarts_with(text, "bytes="))
    return range_invalid("Range must use the bytes unit: bytes=<first>-<last>", value);
  text.remove_prefix(6);

  std::optional<ByteRange> chosen;
  for (;;) {
    auto comma = text.find(',');
    ByteRange range;
    switch (resolve_one(trim(text.substr(0, comma)), size, range)) {
      case Spec::malformed:
        return range_invalid(
            "malformed Range: expected bytes=<first>-<last>, "
            "bytes=<first>- or bytes=-<suffix length>",
            value);
      case Spec::satisfiable:
        if (!chosen) chosen = range;
        break;
      case Spec::unsatisfiable:
        break;
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (!chosen)
    return range_invalid("Range not satisfiable for a blob of " + std::to_string(size) + " bytes",
                         value);
  return *chosen;
}

std::string format_content_range(const ByteRange& range, std::uint64_t size) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
         std::to_string(size);
}

std::string format_unsatisfiable_content_range(std::uint64_t size) {
  return "bytes */" + std::to_string(size);
}

Result<ByteRange> parse_upload_content_range(std::string_view value) {
  auto text = trim(value);
  if (istarts_with(text, "bytes ")) text = trim(text.substr(6));
  std::optional<std::uint64_t> total;  // unset when absent or "*"
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto total_text = text.substr(slash + 1);
    text = text.substr(0, slash);
    if (total_text != "*") {
      total = parse_offset(total_text);
      if (!total) return range_invalid("Content-Range total must be a number or '*'", value);
    }
  }
  auto range = parse_closed_range(text);
  if (!range) return range_invalid("Content-Range must be <start>-<end> with start <= end", value);
  if (total && range->last >= *total)
    return range_invalid("Content-Range end lies beyond its declared total", value);
  return *range;
}

std::string format_upload_range(std::uint64_t received_bytes) {
  return "0-" + std::to_string(received_bytes == 0 ? 0 : received_bytes - 1);
}

}  // namespace strata::http
