#include "builds/cache_registry.h"

#include <algorithm>
#include <charconv>

namespace strata::builds {
namespace {

// The URL itself stays out of the message: it may hold a password.
std::unexpected<Error> invalid(std::string_view why) { return fail("CONFIG_INVALID", "the registry URL " + std::string(why)); }

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool is_ipv6_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

bool is_valid_port(std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size() && port >= 1 && port <= 65535;
}

// "host", "host:port", "[v6]" or "[v6]:port".
Result<void> check_authority(std::string_view authority) {
  std::string_view host = authority;
  std::string_view port_part;  // ":<port>" or empty
  if (host.starts_with('[')) {
    auto close = host.find(']');
    if (close == std::string_view::npos) return invalid("has an unclosed '[' in its host");
    port_part = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (host.empty() || !std::ranges::all_of(host, is_ipv6_char)) return invalid("has an invalid IPv6 address");
    if (!port_part.empty() && !port_part.starts_with(':')) return invalid("has text after its IPv6 address");
  } else {
    if (auto colon = host.find(':'); colon != std::string_view::npos) {
      port_part = host.substr(colon);
      host = host.substr(0, colon);
    }
    if (host.empty()) return invalid("has no host");
    if (!std::ranges::all_of(host, is_host_char)) return invalid("has an invalid host name");
  }
  if (!port_part.empty() && !is_valid_port(port_part.substr(1))) return invalid("has an invalid port (1-65535)");
  return {};
}

}  // namespace

Result<std::string> normalize_registry_url(std::string_view url) {
  if (url.ends_with('/')) url.remove_suffix(1);
  std::string_view authority;
  if (url.starts_with("http://")) authority = url.substr(7);
  else if (url.starts_with("https://")) authority = url.substr(8);
  else return invalid("must start with http:// or https://");
  if (authority.find('@') != std::string_view::npos)
    return invalid("must not hold credentials; give the username and password separately");
  if (authority.find_first_of("/?#") != std::string_view::npos)
    return invalid("must be the registry's base URL, without a path, query or fragment");
  if (auto ok = check_authority(authority); !ok) return std::unexpected(ok.error());
  return std::string(url);
}

}  // namespace strata::builds
