#include "sandbox/registry_access.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "common/text.h"

namespace strata::sandbox {
namespace {

std::string lower(std::string_view text) {
  std::string out;
  for (char c : text) out += ascii_lower(c);
  return out;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  return host.find(':') != std::string_view::npos ? fmt::format("[{}]:{}", host, port)
                                                   : fmt::format("{}:{}", host, port);
}

}  // namespace

Result<RegistryHost> RegistryHost::parse(std::string_view text) {
  auto invalid = [&] {
    return fail("CONFIG_INVALID", fmt::format("registry-allow {:?} must be host[:port] or *", std::string(text)));
  };
  std::string_view host = text, port;
  bool has_port = false;
  if (host.starts_with('[')) {
    auto close = host.find(']');
    if (close == std::string_view::npos) return invalid();
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && !port.starts_with(':')) return invalid();
    has_port = !port.empty();
    if (has_port) port.remove_prefix(1);
    auto address = IpAddress::parse(host);
    if (!address || !address->v6) return invalid();
  } else {
    if (auto colon = host.find(':'); colon != std::string_view::npos) {
      has_port = true;
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    bool name_chars = !host.empty() && std::ranges::all_of(host, [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
    });
    if (!name_chars) return invalid();
  }
  RegistryHost parsed{lower(host), std::nullopt};
  if (has_port) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return invalid();
    parsed.port = static_cast<std::uint16_t>(value);
  }
  return parsed;
}

bool RegistryHost::matches(std::string_view other_host, std::uint16_t other_port) const {
  return iequals(host, other_host) && (!port || *port == other_port);
}

std::unexpected<Error> RegistryAccess::not_allowed(std::string_view name) {
  return fail("REGISTRY_NOT_ALLOWED", fmt::format("registry not allowed: {}", name));
}

bool RegistryAccess::trusted(std::string_view host, std::uint16_t port) const {
  return std::ranges::any_of(trusted_, [&](const RegistryHost& entry) { return entry.matches(host, port); });
}

Result<void> RegistryAccess::check_registry(std::string_view host, std::uint16_t port, std::string_view name) const {
  if (any_registry_ || trusted(host, port)) return {};
  return not_allowed(name);
}

Result<void> RegistryAccess::check_connect(std::string_view host, std::uint16_t port, const IpAddress& address) const {
  if (trusted(host, port) || addresses_.allows(address)) return {};
  return not_allowed(host_port(host, port));
}

}  // namespace strata::sandbox
