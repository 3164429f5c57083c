// Mirror rewriting and endpoint defaults for RegistryConfig.
#include "engine/remote/registry_config.h"

namespace strata::engine::remote {
namespace {

// "localhost[:port]", "127.x.y.z[:port]" or "[::1][:port]".
bool is_loopback_domain(std::string_view domain) {
  if (domain.starts_with("[::1]")) return domain.size() == 5 || domain[5] == ':';
  std::string_view host = domain.substr(0, domain.find(':'));
  if (host == "localhost") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') return false;
  }
  return dots == 3;
}

}  // namespace

RegistryEndpoint RegistryConfig::endpoint_for(std::string_view domain) const {
  if (auto it = registries.find(domain); it != registries.end()) return it->second;
  // Docker Hub's API lives on another host than the name users write.
  if (domain == kDockerHubDomain) return RegistryEndpoint{"https://registry-1.docker.io", false, Credentials::anonymous()};
  // A registry on this host's loopback speaks plain HTTP, as Docker and
  // containerd assume.
  if (is_loopback_domain(domain)) return RegistryEndpoint{"http://" + std::string(domain), false, Credentials::anonymous()};
  return RegistryEndpoint{"https://" + std::string(domain), false, Credentials::anonymous()};
}

Result<RemoteImage> RegistryConfig::locate(const ImageReference& image) const {
  std::string domain = image.domain;
  std::string repository = image.repository;
  if (auto mirror = mirrors.find(domain); mirror != mirrors.end()) {
    const std::string& target = mirror->second;
    auto slash = target.find('/');
    domain = target.substr(0, slash);
    if (slash != std::string::npos && slash + 1 < target.size())
      repository = target.substr(slash + 1) + "/" + repository;
    if (domain.empty())
      return fail("NAME_INVALID", "mirror of " + image.domain + " (\"" + target + "\") names no registry");
    if (auto valid = oci::validate_repository_name(repository); !valid)
      return fail("NAME_INVALID", "mirror of " + image.domain + " (\"" + target +
                                      "\") gives an invalid repository: " + valid.error().message);
  }
  return RemoteImage{endpoint_for(domain), std::move(repository), image.reference()};
}

}  // namespace strata::engine::remote
