#include "engine/build/registries.h"

namespace strata::engine::build {

remote::RegistryClient& Registries::client(const remote::RegistryEndpoint& endpoint) {
  auto& slot = clients_[endpoint.base_url];
  if (!slot) slot = std::make_unique<remote::RegistryClient>(endpoint);
  return *slot;
}

}  // namespace strata::engine::build
