#include "sandbox/address_policy.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "sandbox/registry_access.h"

namespace strata::sandbox {
namespace {

int address_bits(const IpAddress& address) { return address.v6 ? 128 : 32; }

// Host names as DNS spells them: dot-separated labels of letters, digits and
// inner hyphens, at least one letter (so "10.1" is not taken for a name).
bool is_host_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  bool letter = false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (label == 0 || text[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && !(c >= '0' && c <= '9') && c != '-') return false;
    if (c == '-' && label == 0) return false;
    letter = letter || alpha;
    if (++label > 63) return false;
  }
  return letter && text.back() != '-' && text.back() != '.';
}

// One operator entry as ranges: a CIDR, or a name's addresses.
Result<std::vector<Cidr>> entry_ranges(const std::string& entry, std::string_view flag, bool must_resolve,
                                       const HostResolver& resolve) {
  auto cidr = Cidr::parse(entry);
  if (cidr) return std::vector<Cidr>{*cidr};
  if (!is_host_name(entry)) {
    if (entry.find('/') != std::string::npos) return fail("CONFIG_INVALID", fmt::format("{} {}", flag, cidr.error().message));
    return fail("CONFIG_INVALID", fmt::format("{} {:?} is neither a CIDR, an address nor a host name", flag, entry));
  }
  auto addresses = resolve(entry);
  if (!addresses || addresses->empty()) {
    if (!must_resolve) return std::vector<Cidr>{};
    return fail("CONFIG_INVALID",
                fmt::format("{} host {} cannot be resolved{}", flag, entry,
                            addresses ? "" : ": " + addresses.error().message));
  }
  std::vector<Cidr> ranges;
  for (const auto& address : *addresses) ranges.push_back(Cidr::single(address));
  return ranges;
}

std::vector<Cidr> parse_ranges(std::initializer_list<std::string_view> texts) {
  std::vector<Cidr> ranges;
  for (auto text : texts) ranges.push_back(*Cidr::parse(text));
  return ranges;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  std::string copy(text);
  IpAddress address;
  if (::inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) return address;
  address.v6 = true;
  if (::inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) == 1) return address;
  return std::nullopt;
}

std::string IpAddress::str() const {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
  return text;
}

std::optional<IpAddress> IpAddress::unmapped_v4() const {
  static constexpr std::array<std::uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!v6 || !std::equal(kMapped.begin(), kMapped.end(), bytes.begin())) return std::nullopt;
  IpAddress v4;
  std::copy_n(bytes.begin() + 12, 4, v4.bytes.begin());
  return v4;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return fail("CONFIG_INVALID", fmt::format("{:?} is not an IP address or CIDR", std::string(text)));
  Cidr cidr{*address, address_bits(*address)};
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cidr.prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || cidr.prefix < 0 ||
        cidr.prefix > address_bits(*address))
      return fail("CONFIG_INVALID", fmt::format("{:?} has a bad prefix length", std::string(text)));
  }
  IpAddress base = *address;
  for (int bit = cidr.prefix; bit < address_bits(base); ++bit)
    base.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
  if (base != *address)
    return fail("CONFIG_INVALID", fmt::format("{:?} has bits set after its prefix (did you mean {}?)",
                                              std::string(text), Cidr{base, cidr.prefix}.str()));
  return cidr;
}

Cidr Cidr::single(const IpAddress& address) { return Cidr{address, address_bits(address)}; }

bool Cidr::contains(const IpAddress& address) const {
  if (address.v6 != base.v6) return false;
  int full = prefix / 8;
  if (!std::equal(base.bytes.begin(), base.bytes.begin() + full, address.bytes.begin())) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (base.bytes[full] & mask) == (address.bytes[full] & mask);
}

std::string Cidr::str() const { return fmt::format("{}/{}", base.str(), prefix); }

const std::vector<Cidr>& default_denied_ranges() {
  static const std::vector<Cidr> ranges = parse_ranges({
      "0.0.0.0/8",           // "this network"
      "10.0.0.0/8",          // private
      "100.64.0.0/10",       // shared address space (carrier-grade NAT)
      "127.0.0.0/8",         // loopback
      "169.254.0.0/16",      // link-local (cloud metadata services live here)
      "172.16.0.0/12",       // private
      "192.168.0.0/16",      // private
      "224.0.0.0/4",         // multicast
      "240.0.0.0/4",         // reserved
      "255.255.255.255/32",  // broadcast
      "::1/128",             // loopback
      "fe80::/10",           // link-local
      "fc00::/7",            // unique local (private)
      "ff00::/8",            // multicast
      "::ffff:0:0/96",       // IPv4-mapped: an IPv4 address in IPv6 clothes
  });
  return ranges;
}

AddressPolicy::AddressPolicy() : denied_(default_denied_ranges()) {}

Result<AddressPolicy> AddressPolicy::make(const NetworkPolicy& network, const std::vector<IpAddress>& host_addresses,
                                          const HostResolver& resolve) {
  AddressPolicy policy;
  for (const auto& address : host_addresses) policy.denied_.push_back(Cidr::single(address));
  for (const auto& entry : network.egress_deny) {
    auto ranges = entry_ranges(entry, "egress-deny", true, resolve);
    if (!ranges) return std::unexpected(ranges.error());
    policy.denied_.insert(policy.denied_.end(), ranges->begin(), ranges->end());
  }
  for (const auto& entry : network.egress_allow) {
    auto ranges = entry_ranges(entry, "egress-allow", false, resolve);
    if (!ranges) return std::unexpected(ranges.error());
    policy.allowed_.insert(policy.allowed_.end(), ranges->begin(), ranges->end());
  }
  return policy;
}

Result<AddressPolicy> AddressPolicy::for_this_host(const NetworkPolicy& network) {
  return make(network, host_interface_addresses(), resolve_host);
}

bool AddressPolicy::explicitly_allowed(const IpAddress& address) const {
  return std::ranges::any_of(allowed_, [&](const Cidr& range) { return range.contains(address); });
}

bool AddressPolicy::denied(const IpAddress& address) const {
  return std::ranges::any_of(denied_, [&](const Cidr& range) { return range.contains(address); });
}

// An IPv4-mapped address reaches its IPv4 address, so it is judged as both:
// allowed if either form is allowed explicitly, else only if neither form
// is denied (the mapped range itself is denied by default).
bool AddressPolicy::allows(const IpAddress& address) const {
  auto v4 = address.unmapped_v4();
  if (explicitly_allowed(address) || (v4 && explicitly_allowed(*v4))) return true;
  return !denied(address) && !(v4 && denied(*v4));
}

Result<void> check_network_policy(const NetworkPolicy& network) {
  auto no_lookup = [](const std::string&) -> Result<std::vector<IpAddress>> { return std::vector<IpAddress>{}; };
  for (auto [list, flag] : {std::pair{&network.egress_allow, "egress-allow"}, std::pair{&network.egress_deny, "egress-deny"}})
    for (const auto& entry : *list)
      if (auto ok = entry_ranges(entry, flag, false, no_lookup); !ok) return std::unexpected(ok.error());
  for (const auto& entry : network.registry_allow)
    if (entry != "*")
      if (auto ok = RegistryHost::parse(entry); !ok) return std::unexpected(ok.error());
  return {};
}

std::vector<IpAddress> host_interface_addresses() {
  std::vector<IpAddress> addresses;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return addresses;
  for (ifaddrs* it = list; it; it = it->ifa_next) {
    if (!it->ifa_addr) continue;
    IpAddress address;
    if (it->ifa_addr->sa_family == AF_INET) {
      std::memcpy(address.bytes.data(), &reinterpret_cast<sockaddr_in*>(it->ifa_addr)->sin_addr, 4);
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      address.v6 = true;
      std::memcpy(address.bytes.data(), &reinterpret_cast<sockaddr_in6*>(it->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    if (std::ranges::find(addresses, address) == addresses.end()) addresses.push_back(address);
  }
  ::freeifaddrs(list);
  return addresses;
}

Result<std::vector<IpAddress>> resolve_host(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0)
    return fail("CONNECTION", fmt::format("{}: {}", host, ::gai_strerror(rc)));
  std::vector<IpAddress> addresses;
  for (addrinfo* it = found; it; it = it->ai_next) {
    IpAddress address;
    if (it->ai_family == AF_INET) {
      std::memcpy(address.bytes.data(), &reinterpret_cast<sockaddr_in*>(it->ai_addr)->sin_addr, 4);
    } else if (it->ai_family == AF_INET6) {
      address.v6 = true;
      std::memcpy(address.bytes.data(), &reinterpret_cast<sockaddr_in6*>(it->ai_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    if (std::ranges::find(addresses, address) == addresses.end()) addresses.push_back(address);
  }
  ::freeaddrinfo(found);
  return addresses;
}

}  // namespace strata::sandbox
