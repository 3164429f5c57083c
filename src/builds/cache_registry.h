// Where builds keep their cache repositories when it is not strata's own
// registry (`strata serve --cache-registry`): another OCI registry, reached at
// its base URL, anonymously or with basic credentials. The repository names
// there are the same (cache_names.h). Unset (no CacheRegistry), builds reach
// the cache on our registry with their build token.
//
// The password is a secret: it goes only into the builder's build.json
// (written 0600); nothing logs it and no build record or API answer holds it.
// Value type; pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace strata::builds {

struct CacheRegistry {
  std::string url;       // "http://host[:port]" or "https://host[:port]", no trailing '/'
  std::string username;  // empty: anonymous (then password is empty too)
  std::string password;
  friend bool operator==(const CacheRegistry&, const CacheRegistry&) = default;
};

// Checks a registry base URL: scheme http:// or https://, a host (name, IPv4
// or [IPv6]), an optional port 1-65535, nothing else but an optional trailing
// '/', which is dropped. No user info (credentials are given apart, so the URL
// can be logged), no path, query or fragment (cache repositories sit at the
// registry's root). CONFIG_INVALID with the reason otherwise.
Result<std::string> normalize_registry_url(std::string_view url);

}  // namespace strata::builds
