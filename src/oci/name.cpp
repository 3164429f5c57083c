// Hand-written scanners for the distribution spec's name and tag grammars.
#include "oci/name.h"

namespace strata::oci {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_tag_char(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-';
}

// Consumes one path component starting at `pos`; returns the position after
// it, or npos if the text there is not a component.
std::size_t scan_component(std::string_view s, std::size_t pos) {
  for (;;) {
    if (pos >= s.size() || !is_lower_alnum(s[pos])) return std::string_view::npos;
    while (pos < s.size() && is_lower_alnum(s[pos])) ++pos;
    if (pos == s.size() || s[pos] == '/') return pos;
    // Separator: ".", "_", "__" or one or more "-"; an alnum run must follow.
    if (s[pos] == '.') {
      ++pos;
    } else if (s[pos] == '_') {
      ++pos;
      if (pos < s.size() && s[pos] == '_') ++pos;
    } else if (s[pos] == '-') {
      while (pos < s.size() && s[pos] == '-') ++pos;
    } else {
      return std::string_view::npos;
    }
  }
}

}  // namespace

bool is_valid_repository_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxRepositoryNameLength) return false;
  std::size_t pos = 0;
  for (;;) {
    pos = scan_component(name, pos);
    if (pos == std::string_view::npos) return false;
    if (pos == name.size()) return true;
    ++pos;  // the '/' between components
  }
}

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength) return false;
  if (tag.front() == '.' || tag.front() == '-') return false;
  for (char c : tag)
    if (!is_tag_char(c)) return false;
  return true;
}

Result<void> validate_repository_name(std::string_view name) {
  if (name.size() > kMaxRepositoryNameLength)
    return fail("NAME_INVALID",
                "repository name is longer than " + std::to_string(kMaxRepositoryNameLength) +
                    " characters",
                std::string(name.substr(0, 64)) + "...");
  if (!is_valid_repository_name(name))
    return fail("NAME_INVALID",
                "invalid repository name: use lowercase letters and digits, path components "
                "separated by '/', joined within a component by '.', '_', '__' or '-'",
                std::string(name));
  return {};
}

Result<void> validate_tag(std::string_view tag) {
  if (!is_valid_tag(tag))
    return fail("TAG_INVALID",
                "invalid tag: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'",
                std::string(tag));
  return {};
}

Result<Reference> Reference::parse(std::string_view text) {
  if (text.find(':') != std::string_view::npos) {
    auto digest = Digest::parse(text);
    if (!digest) return std::unexpected(digest.error());
    return Reference(std::move(*digest));
  }
  if (auto ok = validate_tag(text); !ok) return std::unexpected(ok.error());
  return Reference(std::string(text));
}

std::string Reference::str() const { return is_digest() ? digest().str() : tag(); }

}  // namespace strata::oci
