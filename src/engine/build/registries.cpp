#include "engine/build/registries.h"

#include "common/text.h"

namespace strata::engine::build {
namespace {

// The host and port a base URL ("https://host[:port]/...") connects to.
std::optional<sandbox::RegistryHost> endpoint_host(std::string_view base_url) {
  std::uint16_t default_port = istarts_with(base_url, "http://") ? 80 : 443;
  if (auto scheme = base_url.find("://"); scheme != std::string_view::npos) base_url.remove_prefix(scheme + 3);
  auto host = sandbox::RegistryHost::parse(base_url.substr(0, base_url.find('/')));
  if (!host) return std::nullopt;
  if (!host->port) host->port = default_port;
  return *host;
}

}  // namespace

Result<remote::RemoteImage> Registries::locate(const remote::ImageReference& image) const {
  auto location = config_.locate(image);
  if (!location) return location;
  auto host = endpoint_host(location->endpoint.base_url);
  if (!host) return sandbox::RegistryAccess::not_allowed(image.domain);
  if (auto allowed = access_->check_registry(host->host, *host->port, image.domain); !allowed)
    return std::unexpected(allowed.error());
  return location;
}

remote::RegistryClient& Registries::client(const remote::RegistryEndpoint& endpoint) {
  auto& slot = clients_[endpoint.base_url];
  if (!slot) {
    http::ClientOptions options;
    options.connect_check = [access = access_](const http::ConnectTarget& target) -> Result<void> {
      auto address = sandbox::IpAddress::parse(target.address);
      if (!address) return sandbox::RegistryAccess::not_allowed(target.host);
      return access->check_connect(target.host, target.port, *address);
    };
    slot = std::make_unique<remote::RegistryClient>(endpoint, std::move(options));
  }
  return *slot;
}

sandbox::RegistryAccess registry_access(const BuildConfig& config, sandbox::AddressPolicy addresses) {
  std::vector<sandbox::RegistryHost> trusted;
  bool any_registry = false;
  for (const auto& url : {std::optional(config.registry_url),
                          config.cache.registry ? std::optional(config.cache.registry->base_url) : std::nullopt})
    if (url)
      if (auto host = endpoint_host(*url)) trusted.push_back(*host);
  for (const auto& entry : config.sandbox.network.registry_allow) {
    if (entry == "*") {
      any_registry = true;
      continue;
    }
    // Checked when the server started; a bad entry allows nothing.
    if (auto host = sandbox::RegistryHost::parse(entry)) trusted.push_back(*host);
    if (auto host = endpoint_host(config.registries.endpoint_for(entry).base_url)) trusted.push_back(*host);
  }
  return sandbox::RegistryAccess(std::move(trusted), any_registry, std::move(addresses));
}

}  // namespace strata::engine::build
