// Where the builder finds an image: per-registry settings (base URL, whether
// TLS is verified, credentials) and mirrors that move a whole registry domain
// into a namespace of another registry, e.g.
//
//   mirrors["docker.io"] = "127.0.0.1:8083/mirror/docker.io"
//   docker.io/library/busybox:1.36 -> 127.0.0.1:8083, mirror/docker.io/library/busybox:1.36
//
// A mirror replaces its upstream (no fallback: builders may have no internet).
// A domain with no entry in `registries` is reached at https://<domain>
// (docker.io at https://registry-1.docker.io) with no credentials; plain HTTP
// is used when configured as an "http://" base URL and, as Docker and
// containerd do, for a registry on loopback (localhost, 127.0.0.0/8, [::1]). Value type; const
// methods are thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/error.h"
#include "engine/remote/credentials.h"
#include "engine/remote/image_ref.h"
#include "oci/name.h"

namespace strata::engine::remote {

struct RegistryEndpoint {
  std::string base_url;   // scheme, host and port: "http://127.0.0.1:8083"
  bool insecure = false;  // https without certificate verification
  Credentials credentials;
};

// A reference after mirrors and configuration: what RegistryClient needs.
struct RemoteImage {
  RegistryEndpoint endpoint;
  std::string repository;  // path on that registry, mirror namespace included
  oci::Reference reference;
};

struct RegistryConfig {
  // Keyed by domain as written in references: "docker.io", "127.0.0.1:8083".
  std::map<std::string, RegistryEndpoint, std::less<>> registries;
  // Domain -> "host[:port]/namespace" (the namespace may be empty).
  std::map<std::string, std::string, std::less<>> mirrors;

  // The configured endpoint of `domain`, or the default one.
  RegistryEndpoint endpoint_for(std::string_view domain) const;
  // Applies a mirror, if any, then looks up the endpoint. Fails with
  // NAME_INVALID when a mirror target makes no valid repository name.
  Result<RemoteImage> locate(const ImageReference& image) const;
};

}  // namespace strata::engine::remote
