// The registries one build talks to: where a reference lives (mirrors and
// per-registry settings from build.json, our registry with the build's
// token) and one RegistryClient per endpoint, so token caches and
// connections are reused across pulls and the push.
//
// Contract: owns its clients; not thread-safe (the builder is one thread of
// registry work). Clients stay valid as long as the Registries.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/error.h"
#include "engine/remote/registry_client.h"
#include "engine/remote/registry_config.h"

namespace strata::engine::build {

class Registries {
 public:
  explicit Registries(remote::RegistryConfig config) : config_(std::move(config)) {}

  Result<remote::RemoteImage> locate(const remote::ImageReference& image) const { return config_.locate(image); }
  remote::RegistryClient& client(const remote::RegistryEndpoint& endpoint);

 private:
  remote::RegistryConfig config_;
  std::map<std::string, std::unique_ptr<remote::RegistryClient>> clients_;  // by base URL
};

}  // namespace strata::engine::build
