// Image references as users write them after FROM or COPY --from, parsed with
// Docker's rules so that `busybox` means what it means to `docker pull`:
//
//   [domain "/"] path [":" tag] ["@" digest]
//
// The first path component is a domain when it contains '.' or ':', is
// "localhost", or has upper-case letters; otherwise the domain is docker.io
// and a single-component path gets the "library/" prefix. "index.docker.io"
// is normalised to "docker.io". Without a tag or digest the tag is "latest".
// Failures carry NAME_INVALID, TAG_INVALID or DIGEST_INVALID. Pure and
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "oci/digest.h"
#include "oci/name.h"

namespace strata::engine::remote {

inline constexpr std::string_view kDockerHubDomain = "docker.io";

struct ImageReference {
  std::string domain;                 // "docker.io", "127.0.0.1:8083", "ghcr.io"
  std::string repository;             // "library/busybox", "base/busybox"
  std::optional<std::string> tag;     // set unless only a digest was given
  std::optional<oci::Digest> digest;  // pinned content, wins over the tag

  static Result<ImageReference> parse(std::string_view text);

  // What to ask the registry for: the digest when pinned, else the tag.
  oci::Reference reference() const;
  // Fully qualified form, e.g. "docker.io/library/busybox:1.36@sha256:...".
  std::string str() const;

  friend bool operator==(const ImageReference&, const ImageReference&) = default;
};

}  // namespace strata::engine::remote
