// Which registries the builder's own fetches may use (FROM, COPY --from=<image>,
// RUN --mount=from=<image>, the build cache, the push) and where they may
// connect.
//
// Two checks, both failing with REGISTRY_NOT_ALLOWED "registry not allowed:
// <registry>" so that a refusal says nothing about what listens there:
// - check_registry(), before any connection: the registry must be trusted
//   (strata's own registry, the cache registry, an explicit --registry-allow
//   entry) or --registry-allow must hold "*".
// - check_connect(), when a socket is about to be opened (after DNS, for
//   every address tried, redirects and token realms included): a trusted
//   host may be on any address; any other host only on an address the
//   AddressPolicy allows, so a name that resolves to loopback, link-local or
//   a private range cannot take the builder there.
//
// Contract: value type; const methods are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "sandbox/address_policy.h"

namespace strata::sandbox {

// A registry as the operator names it: "host" (any port) or "host:port";
// an IPv6 address in brackets ("[2001:db8::1]:5000").
struct RegistryHost {
  std::string host;  // lower case, without brackets
  std::optional<std::uint16_t> port;

  static Result<RegistryHost> parse(std::string_view text);
  bool matches(std::string_view host, std::uint16_t port) const;
};

class RegistryAccess {
 public:
  // `trusted`: the registries reached on any address; `any_registry`:
  // --registry-allow holds "*"; `addresses`: where other hosts may be.
  RegistryAccess(std::vector<RegistryHost> trusted, bool any_registry, AddressPolicy addresses)
      : trusted_(std::move(trusted)), any_registry_(any_registry), addresses_(std::move(addresses)) {}

  // `name` is how the refusal names the registry (as written in FROM).
  Result<void> check_registry(std::string_view host, std::uint16_t port, std::string_view name) const;
  Result<void> check_connect(std::string_view host, std::uint16_t port, const IpAddress& address) const;

  // The refusal both checks return.
  static std::unexpected<Error> not_allowed(std::string_view name);

 private:
  bool trusted(std::string_view host, std::uint16_t port) const;

  std::vector<RegistryHost> trusted_;
  bool any_registry_;
  AddressPolicy addresses_;
};

}  // namespace strata::sandbox
