// The registries one build talks to: where a reference lives (mirrors and
// per-registry settings from build.json, our registry with the build's
// token), which of them the build may use, and one RegistryClient per
// endpoint, so token caches and connections are reused across pulls and the
// push.
//
// Every client is given the build's connect check (sandbox/registry_access.h):
// a registry the build may not use fails locate() with REGISTRY_NOT_ALLOWED
// before any connection, and every socket a client opens (redirects and
// token realms included) is checked on its resolved address.
//
// Contract: owns its clients; not thread-safe (the builder is one thread of
// registry work). Clients stay valid as long as the Registries.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/error.h"
#include "engine/build/build_config.h"
#include "engine/remote/registry_client.h"
#include "engine/remote/registry_config.h"
#include "sandbox/registry_access.h"

namespace strata::engine::build {

class Registries {
 public:
  Registries(remote::RegistryConfig config, sandbox::RegistryAccess access)
      : config_(std::move(config)), access_(std::make_shared<const sandbox::RegistryAccess>(std::move(access))) {}

  // Mirrors and settings applied; REGISTRY_NOT_ALLOWED (naming the registry
  // as written) when the build may not pull from where the image lives.
  Result<remote::RemoteImage> locate(const remote::ImageReference& image) const;
  remote::RegistryClient& client(const remote::RegistryEndpoint& endpoint);

 private:
  remote::RegistryConfig config_;
  std::shared_ptr<const sandbox::RegistryAccess> access_;
  std::map<std::string, std::unique_ptr<remote::RegistryClient>> clients_;  // by base URL
};

// The registries `config`'s build may use: our registry, the cache registry
// and each --registry-allow entry (also at the endpoint its name is reached
// at, e.g. docker.io at registry-1.docker.io) on any address; with "*" any
// other registry, on the addresses `addresses` allows.
sandbox::RegistryAccess registry_access(const BuildConfig& config, sandbox::AddressPolicy addresses);

}  // namespace strata::engine::build
