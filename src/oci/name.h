// Repository names, tags and manifest references as the OCI distribution spec
// defines them. Validation is hand-written (no std::regex): it runs on every
// registry request.
//
//   name      component ("/" component)*, at most 255 characters in total
//   component [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
//   tag       [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
//   reference a tag, or a digest ("sha256:<hex>", "sha512:<hex>")
//
// Any number of name segments is allowed ("cache/global/node"). Failures carry
// the spec's codes NAME_INVALID, TAG_INVALID and DIGEST_INVALID. All functions
// are pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/error.h"
#include "oci/digest.h"

namespace strata::oci {

// Same total limit as CNCF Distribution, so names it accepts are accepted here.
inline constexpr std::size_t kMaxRepositoryNameLength = 255;
inline constexpr std::size_t kMaxTagLength = 128;

bool is_valid_repository_name(std::string_view name);
bool is_valid_tag(std::string_view tag);

// Same checks, with an error (NAME_INVALID / TAG_INVALID) saying what is wrong.
Result<void> validate_repository_name(std::string_view name);
Result<void> validate_tag(std::string_view tag);

// The <reference> part of /v2/<name>/manifests/<reference>. Text containing
// ':' is a digest (a tag cannot contain ':'), anything else must be a tag.
class Reference {
 public:
  static Result<Reference> parse(std::string_view text);
  explicit Reference(Digest digest) : value_(std::move(digest)) {}

  bool is_digest() const { return std::holds_alternative<Digest>(value_); }
  bool is_tag() const { return !is_digest(); }
  // Preconditions: is_tag() / is_digest() respectively.
  const std::string& tag() const { return std::get<std::string>(value_); }
  const Digest& digest() const { return std::get<Digest>(value_); }
  // The reference as it appears in a URL: the tag, or "sha256:...".
  std::string str() const;

  friend bool operator==(const Reference&, const Reference&) = default;

 private:
  explicit Reference(std::string tag) : value_(std::move(tag)) {}
  std::variant<std::string, Digest> value_;
};

}  // namespace strata::oci
