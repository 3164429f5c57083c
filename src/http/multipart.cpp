// Multipart parsing as a scanner over one buffer. Content is everything up to
// the next delimiter "\r\n--boundary"; the scanner hands out bytes it has
// proved are content and keeps the last delimiter-length-minus-one bytes
// back until more data shows whether they start a delimiter, which is how
// boundaries split across read() calls are found. Treating the body as if it
// began with CRLF lets the first delimiter (which needs no CRLF before it)
// be found by the same search, the preamble being the first "content".
#include "http/multipart.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "common/text.h"

namespace strata::http {
namespace {

constexpr std::size_t kBufferSize = 64 * 1024;
constexpr std::size_t kMaxBoundary = 70;  // RFC 2046 section 5.1.1

std::unexpected<Error> invalid(std::string message) {
  return fail("MULTIPART_INVALID", std::move(message));
}

bool is_token_char(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

// RFC 2046 bchars: the characters a boundary may consist of.
bool is_boundary_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("'()+_,-./:=? ", c) != nullptr && c != '\0';
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// A header value of the form `type; name=value; name="quoted value"`, as
// Content-Type and Content-Disposition are written. Parameter names are
// lowercased; a name given twice is an error.
struct ParameterizedValue {
  std::string type;
  std::vector<std::pair<std::string, std::string>> parameters;

  const std::string* find(std::string_view name) const {
    for (const auto& [k, v] : parameters)
      if (k == name) return &v;
    return nullptr;
  }
};

Result<ParameterizedValue> parse_parameterized(std::string_view text, std::string_view header) {
  ParameterizedValue out;
  std::size_t pos = std::min(text.find(';'), text.size());
  out.type = std::string(trim(text.substr(0, pos)));
  auto bad = [&](const std::string& reason) {
    return invalid(std::string(header) + " header: " + reason);
  };
  auto skip_blanks = [&] {
    while (pos < text.size() && is_blank(text[pos])) ++pos;
  };
  while (pos < text.size()) {
    ++pos;  // the ';'
    skip_blanks();
    if (pos == text.size()) break;  // a trailing ';' is harmless
    std::size_t name_start = pos;
    while (pos < text.size() && is_token_char(text[pos])) ++pos;
    std::string name(text.substr(name_start, pos - name_start));
    std::ranges::transform(name, name.begin(), ascii_lower);
    skip_blanks();
    if (name.empty() || pos == text.size() || text[pos] != '=')
      return bad("expected name=value");
    ++pos;
    skip_blanks();
    std::string value;
    if (pos < text.size() && text[pos] == '"') {
      ++pos;
      for (;;) {
        if (pos == text.size())
          return bad("unterminated quoted string");
        char c = text[pos++];
        if (c == '"') break;
        if (c == '\\' && pos < text.size()) c = text[pos++];
        value.push_back(c);
      }
    } else {
      std::size_t value_start = pos;
      while (pos < text.size() && is_token_char(text[pos])) ++pos;
      value = std::string(text.substr(value_start, pos - value_start));
      if (value.empty()) return bad("empty value for " + name);
    }
    skip_blanks();
    if (pos < text.size() && text[pos] != ';')
      return bad("unexpected character after " + name);
    if (out.find(name)) return bad("parameter " + name + " given twice");
    out.parameters.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

}  // namespace

namespace {

Result<std::string> parse_boundary(std::string_view content_type) {
  auto value = parse_parameterized(content_type, "Content-Type");
  if (!value) return std::unexpected(value.error());
  if (!iequals(value->type, "multipart/form-data"))
    return invalid("Content-Type must be multipart/form-data, got '" + value->type + "'");
  const std::string* boundary = value->find("boundary");
  if (!boundary) return invalid("Content-Type multipart/form-data has no boundary parameter");
  if (boundary->empty() || boundary->size() > kMaxBoundary || boundary->back() == ' ' ||
      !std::ranges::all_of(*boundary, is_boundary_char))
    return invalid("multipart boundary must be 1-70 letters, digits or '()+_,-./:=? ' "
                   "(not ending in a space)");
  return *boundary;
}

}  // namespace

struct MultipartReader::Impl {
  enum class State { preamble, part, done, failed };

  Impl(BodyReader& body, std::string boundary, MultipartLimits limits)
      : body(body), limits(limits), delimiter("\r\n--" + boundary), buffer(kBufferSize) {
    std::memcpy(buffer.data(), "\r\n", 2);
    end = 2;
  }

  BodyReader& body;
  MultipartLimits limits;
  const std::string delimiter;
  std::vector<char> buffer;
  std::size_t begin = 0, end = 0;  // unconsumed bytes are buffer[begin, end)
  bool body_ended = false;
  // buffer[begin, begin + known_content) is proven content of the current
  // part (or preamble); when at_delimiter, the delimiter follows it.
  std::size_t known_content = 0;
  bool at_delimiter = false;

  State state = State::preamble;
  Error error;
  std::size_t parts = 0;
  std::set<std::string, std::less<>> names;
  MultipartPart part{*this};

  std::size_t available() const { return end - begin; }

  std::unexpected<Error> stop(Error e) {
    state = State::failed;
    error = std::move(e);
    return std::unexpected(error);
  }

  // Reads more of the body after the unconsumed bytes; false at its end.
  Result<bool> fill() {
    if (body_ended) return false;
    if (begin > 0) {
      std::memmove(buffer.data(), buffer.data() + begin, available());
      end -= begin;
      begin = 0;
    }
    auto n = body.read(buffer.data() + end, buffer.size() - end);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) body_ended = true;
    end += *n;
    return *n > 0;
  }

  std::unexpected<Error> truncated() {
    return invalid(state == State::preamble
                       ? "multipart body does not contain the boundary given in Content-Type"
                       : "multipart body ended before the closing boundary");
  }

  // Extends known_content, or finds the delimiter right at its end.
  Result<void> scan() {
    for (;;) {
      std::string_view unproven(buffer.data() + begin + known_content, available() - known_content);
      if (auto at = unproven.find(delimiter); at != std::string_view::npos) {
        known_content += at;
        at_delimiter = true;
        return {};
      }
      // The tail might be the start of a delimiter whose rest is still unread.
      std::size_t held_back = std::min(unproven.size(), delimiter.size() - 1);
      if (unproven.size() > held_back) {
        known_content += unproven.size() - held_back;
        return {};
      }
      auto more = fill();
      if (!more) return std::unexpected(more.error());
      if (!*more) return truncated();
    }
  }

  Result<std::size_t> read_content(char* out, std::size_t size) {
    if (state == State::failed) return std::unexpected(error);
    if (state != State::part) return 0;
    if (known_content == 0 && !at_delimiter)
      if (auto r = scan(); !r) return stop(r.error());
    std::size_t n = std::min(size, known_content);
    std::memcpy(out, buffer.data() + begin, n);
    begin += n;
    known_content -= n;
    return n;
  }

  Result<void> skip_content() {
    for (;;) {
      begin += known_content;
      known_content = 0;
      if (at_delimiter) return {};
      if (auto r = scan(); !r) return r;
    }
  }

  // Makes at least `count` unconsumed bytes available; false if the body ends first.
  Result<bool> want(std::size_t count) {
    while (available() < count) {
      auto more = fill();
      if (!more) return std::unexpected(more.error());
      if (!*more) return false;
    }
    return true;
  }

  // One CRLF-terminated line (without the CRLF), at most `limit` bytes.
  Result<std::string> read_line(std::size_t limit, std::string_view what) {
    std::string line;
    for (;;) {
      std::string_view unread(buffer.data() + begin, available());
      auto lf = unread.find('\n');
      line.append(unread.substr(0, lf));
      if (line.size() > limit + 1)  // +1: the CR that may end it
        return fail("TOO_LARGE", std::string(what) + " longer than " + std::to_string(limit) + " bytes");
      if (lf != std::string_view::npos) {
        begin += lf + 1;
        if (line.empty() || line.back() != '\r')
          return invalid("multipart line ends with a bare LF; lines must end with CRLF");
        line.pop_back();
        return line;
      }
      begin = end;
      auto more = fill();
      if (!more) return std::unexpected(more.error());
      if (!*more) return truncated();
    }
  }

  // Consumes the delimiter found by scan() and what follows it on its line.
  // Returns false for the close delimiter.
  Result<bool> pass_delimiter() {
    begin += delimiter.size();
    at_delimiter = false;
    auto two = want(2);
    if (!two) return std::unexpected(two.error());
    if (!*two) return truncated();
    if (buffer[begin] == '-' && buffer[begin + 1] == '-') {
      begin += 2;
      return false;
    }
    auto rest = read_line(limits.max_header_bytes, "multipart boundary line");
    if (!rest) return std::unexpected(rest.error());
    if (!std::ranges::all_of(*rest, is_blank))
      return invalid("multipart boundary is followed by unexpected characters");
    return true;
  }

  Result<void> read_part_headers() {
    part.headers_ = Headers();
    std::size_t budget = limits.max_header_bytes;
    for (;;) {
      auto line = read_line(budget, "multipart part headers");
      if (!line) return std::unexpected(line.error());
      if (line->empty()) return {};
      budget -= std::min(budget, line->size() + 2);
      if (is_blank(line->front()))
        return invalid("multipart part header is folded over several lines, which RFC 7578 forbids");
      auto colon = line->find(':');
      std::string_view name = std::string_view(*line).substr(0, colon);
      if (colon == std::string::npos || name.empty() || !std::ranges::all_of(name, is_token_char))
        return invalid("malformed multipart part header line '" + line->substr(0, 80) + "'");
      part.headers_.add(std::string(name), std::string(trim(std::string_view(*line).substr(colon + 1))));
    }
  }

  Result<void> describe_part() {
    auto disposition_header = part.headers_.get("Content-Disposition");
    if (!disposition_header) return invalid("multipart part has no Content-Disposition header");
    auto disposition = parse_parameterized(*disposition_header, "Content-Disposition");
    if (!disposition) return std::unexpected(disposition.error());
    if (!iequals(disposition->type, "form-data"))
      return invalid("multipart part has Content-Disposition '" + disposition->type +
                     "'; expected form-data");
    const std::string* name = disposition->find("name");
    if (!name || name->empty()) return invalid("multipart part has no field name");
    if (!limits.allow_repeated_names && !names.insert(*name).second)
      return invalid("multipart field '" + *name + "' is given more than once");
    part.name_ = *name;
    const std::string* filename = disposition->find("filename");
    part.filename_ = filename ? std::optional<std::string>(*filename) : std::nullopt;
    part.content_type_ = std::string(part.headers_.get("Content-Type").value_or(""));
    return {};
  }

  Result<MultipartPart*> next() {
    if (state == State::failed) return std::unexpected(error);
    if (state == State::done) return nullptr;
    if (auto r = skip_content(); !r) return stop(r.error());
    auto another = pass_delimiter();
    if (!another) return stop(another.error());
    if (!*another) {
      state = State::done;
      return nullptr;
    }
    if (++parts > limits.max_parts)
      return stop(Error{"TOO_LARGE", "multipart body has more than " + std::to_string(limits.max_parts) + " parts", {}});
    if (auto r = read_part_headers(); !r) return stop(r.error());
    if (auto r = describe_part(); !r) return stop(r.error());
    state = State::part;
    return &part;
  }
};

Result<MultipartReader> MultipartReader::open(BodyReader& body, std::string_view content_type,
                                              MultipartLimits limits) {
  auto boundary = parse_boundary(content_type);
  if (!boundary) return std::unexpected(boundary.error());
  return MultipartReader(std::make_unique<Impl>(body, std::move(*boundary), limits));
}

MultipartReader::MultipartReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MultipartReader::~MultipartReader() = default;
MultipartReader::MultipartReader(MultipartReader&&) noexcept = default;
MultipartReader& MultipartReader::operator=(MultipartReader&&) noexcept = default;

Result<MultipartPart*> MultipartReader::next() { return impl_->next(); }

Result<std::size_t> MultipartPart::read(char* buffer, std::size_t size) {
  return reader_->read_content(buffer, size);
}

Result<std::string> MultipartPart::read_all(std::size_t limit) {
  auto content = http::read_all(*this, limit);
  if (!content && content.error().code == "TOO_LARGE")
    return fail("TOO_LARGE", "multipart field '" + name_ + "' exceeds " + std::to_string(limit) + " bytes");
  return content;
}

}  // namespace strata::http
