// Follows github.com/distribution/reference (ParseNormalizedNamed): split off
// "@digest", then ":tag" after the last '/', then the domain, then normalise.
#include "engine/remote/image_ref.h"

#include <algorithm>

namespace strata::engine::remote {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// label ("." label)*, each label alphanumeric with inner '-'; or "[ipv6]".
bool is_valid_host(std::string_view host) {
  if (host.starts_with('[')) {
    if (host.size() < 3 || !host.ends_with(']')) return false;
    auto inner = host.substr(1, host.size() - 2);
    return std::all_of(inner.begin(), inner.end(), [](char c) {
      return c == ':' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
  }
  std::size_t start = 0;
  while (true) {
    auto end = host.find('.', start);
    auto label = host.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; }))
      return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

Result<void> validate_domain(std::string_view domain) {
  auto host = domain;
  // The port follows the last ':' outside IPv6 brackets.
  auto colon = domain.rfind(':');
  if (colon != std::string_view::npos && domain.find(']', colon) == std::string_view::npos) {
    if (!is_digits(domain.substr(colon + 1)))
      return fail("NAME_INVALID", "invalid port in registry domain \"" + std::string(domain) + "\"");
    host = domain.substr(0, colon);
  }
  if (!is_valid_host(host))
    return fail("NAME_INVALID", "invalid registry domain \"" + std::string(domain) + "\"");
  return {};
}

bool looks_like_domain(std::string_view component) {
  return component.find_first_of(".:") != std::string_view::npos || component == "localhost" ||
         std::any_of(component.begin(), component.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool is_hex64(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

Result<ImageReference> ImageReference::parse(std::string_view text) {
  ImageReference ref;
  std::string_view rest = text;
  if (rest.empty()) return fail("NAME_INVALID", "image reference is empty");

  if (auto at = rest.find('@'); at != std::string_view::npos) {
    auto digest = oci::Digest::parse(rest.substr(at + 1));
    if (!digest)
      return fail("DIGEST_INVALID", "invalid digest in image reference \"" + std::string(text) +
                                        "\": " + digest.error().message);
    ref.digest = std::move(*digest);
    rest = rest.substr(0, at);
  }

  auto last_slash = rest.rfind('/');
  auto tag_colon = rest.rfind(':');
  if (tag_colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || tag_colon > last_slash)) {
    auto tag = rest.substr(tag_colon + 1);
    if (!oci::is_valid_tag(tag))
      return fail("TAG_INVALID", "invalid tag \"" + std::string(tag) + "\" in image reference \"" +
                                     std::string(text) + "\"");
    ref.tag = std::string(tag);
    rest = rest.substr(0, tag_colon);
  }

  auto first_slash = rest.find('/');
  if (first_slash != std::string_view::npos && looks_like_domain(rest.substr(0, first_slash))) {
    ref.domain = std::string(rest.substr(0, first_slash));
    if (auto valid = validate_domain(ref.domain); !valid) return std::unexpected(valid.error());
    ref.repository = std::string(rest.substr(first_slash + 1));
  } else {
    ref.domain = std::string(kDockerHubDomain);
    ref.repository = std::string(rest);
  }
  if (ref.domain == "index.docker.io") ref.domain = std::string(kDockerHubDomain);
  if (ref.domain == kDockerHubDomain && ref.repository.find('/') == std::string::npos) {
    // Docker refuses a bare 64-hex name: it would read like an image id.
    if (is_hex64(ref.repository))
      return fail("NAME_INVALID", "invalid repository name \"" + std::string(text) +
                                      "\": cannot be a 64-character hexadecimal string");
    ref.repository = "library/" + ref.repository;
  }
  if (auto valid = oci::validate_repository_name(ref.repository); !valid)
    return fail("NAME_INVALID", "invalid image reference \"" + std::string(text) +
                                    "\": " + valid.error().message);

  if (!ref.tag && !ref.digest) ref.tag = "latest";
  return ref;
}

oci::Reference ImageReference::reference() const {
  if (digest) return oci::Reference(*digest);
  return *oci::Reference::parse(*tag);
}

std::string ImageReference::str() const {
  std::string out = domain + "/" + repository;
  if (tag) out += ":" + *tag;
  if (digest) out += "@" + digest->str();
  return out;
}

}  // namespace strata::engine::remote
