// Which network addresses a build may reach: the one home of the egress
// address rules, used for the firewall of egress RUN steps
// (sandbox/egress_ruleset.h) and for the builder's own connections (image
// pulls, ADD URLs), which are checked on the resolved address at connect time.
//
// The rules: everything is allowed except the denied ranges — the built-in
// ones (default_denied_ranges(): loopback, "this network", private, shared,
// link-local, multicast, reserved and broadcast ranges, IPv4-mapped IPv6),
// every address of the builder host's own interfaces, and the operator's
// --egress-deny — unless the operator's --egress-allow names the address:
// allow wins over deny. Operator entries are CIDRs ("10.1.0.0/16",
// "2001:db8::/32"), bare addresses, or host names resolved when the policy is
// made (when the build starts).
//
// Contract: value types; const methods are pure and thread-safe.
// AddressPolicy::for_this_host() reads the host's interfaces and resolves
// names (blocking). Errors are CONFIG_INVALID naming the entry.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "sandbox/sandbox_policy.h"

namespace strata::sandbox {

// An IPv4 or IPv6 address (IPv4 in the first 4 bytes).
struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};

  // "192.0.2.1", "2001:db8::1" (no brackets, no zone); nullopt otherwise.
  static std::optional<IpAddress> parse(std::string_view text);
  std::string str() const;
  // ::ffff:a.b.c.d as a.b.c.d; nullopt for any other address.
  std::optional<IpAddress> unmapped_v4() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// An address range: `prefix` leading bits of `base` (host bits are zero).
struct Cidr {
  IpAddress base;
  int prefix = 0;

  // "10.0.0.0/8", "fe80::/10", or a bare address (/32, /128). Host bits set
  // after the prefix ("10.1.2.3/8") are refused: the entry would not mean
  // what it says.
  static Result<Cidr> parse(std::string_view text);
  static Cidr single(const IpAddress& address);
  bool contains(const IpAddress& address) const;
  std::string str() const;  // "10.0.0.0/8"
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

// The ranges no build may reach unless the operator allows them.
const std::vector<Cidr>& default_denied_ranges();

// Looks a host name up; the addresses it has (empty: none).
using HostResolver = std::function<Result<std::vector<IpAddress>>(const std::string& host)>;

class AddressPolicy {
 public:
  // Deny everything default_denied_ranges() names, and nothing else.
  AddressPolicy();

  // The policy for `network`'s egress entries, with `host_addresses` (the
  // builder host's interfaces) denied and host names looked up with
  // `resolve`. A deny name that does not resolve fails (it could not be
  // enforced); an allow name that does not resolve allows nothing.
  static Result<AddressPolicy> make(const NetworkPolicy& network, const std::vector<IpAddress>& host_addresses,
                                    const HostResolver& resolve);
  // make() with this host's interfaces (getifaddrs) and the system resolver.
  static Result<AddressPolicy> for_this_host(const NetworkPolicy& network);

  bool allows(const IpAddress& address) const;

  // Allow entries come before deny entries in the rule set built from them.
  const std::vector<Cidr>& allowed() const { return allowed_; }
  const std::vector<Cidr>& denied() const { return denied_; }

 private:
  bool explicitly_allowed(const IpAddress& address) const;
  bool denied(const IpAddress& address) const;

  std::vector<Cidr> allowed_;
  std::vector<Cidr> denied_;
};

// Checks the syntax of the operator's lists without resolving anything:
// egress entries are CIDRs, addresses or host names; registry entries are
// "host[:port]" or "*". For `strata serve` to refuse a bad flag at start.
Result<void> check_network_policy(const NetworkPolicy& network);

// The addresses of this host's interfaces (getifaddrs), loopback included.
std::vector<IpAddress> host_interface_addresses();

// The system resolver (getaddrinfo), IPv4 and IPv6.
Result<std::vector<IpAddress>> resolve_host(const std::string& host);

}  // namespace strata::sandbox
