#include "common/text.h"
#include "auth/http_credentials.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace strata::auth {
namespace {

constexpr std::size_t kMaxHeaderValue = 16 * 1024;

bool starts_with_scheme(std::string_view value, std::string_view scheme) {
  if (value.size() <= scheme.size() || value[scheme.size()] != ' ') return false;
  return istarts_with(value, scheme);
}

// Standard base64 (RFC 4648 §4) with optional padding, as Basic uses it.
std::optional<std::string> base64_decode(std::string_view text) {
  static const auto kValues = [] {
    std::array<int, 256> v;
    v.fill(-1);
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < alphabet.size(); ++i) v[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
    return v;
  }();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = kValues[static_cast<unsigned char>(c)];
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

bool looks_like_jwt(std::string_view s) { return std::ranges::count(s, '.') == 2; }

}  // namespace

PresentedCredentials presented_credentials(const http::Request& request) {
  using Scheme = PresentedCredentials::Scheme;
  auto header = request.headers.get("Authorization");
  if (!header) return {};
  PresentedCredentials out{Scheme::malformed, {}, {}};
  std::string_view value = trim(*header);
  if (value.size() > kMaxHeaderValue) return out;
  if (starts_with_scheme(value, "Bearer")) {
    auto token = trim(value.substr(6));
    if (token.empty()) return out;
    return {Scheme::bearer, {}, std::string(token)};
  }
  if (starts_with_scheme(value, "Basic")) {
    auto decoded = base64_decode(trim(value.substr(5)));
    if (!decoded) return out;
    auto colon = decoded->find(':');
    if (colon == std::string::npos) return out;
    return {Scheme::basic, decoded->substr(0, colon), decoded->substr(colon + 1)};
  }
  return out;
}

std::vector<std::string_view> jwt_candidates(const PresentedCredentials& credentials) {
  std::vector<std::string_view> out;
  using Scheme = PresentedCredentials::Scheme;
  if (credentials.scheme == Scheme::bearer) {
    out.push_back(credentials.secret);
  } else if (credentials.scheme == Scheme::basic) {
    if (looks_like_jwt(credentials.secret)) out.push_back(credentials.secret);
    if (looks_like_jwt(credentials.user)) out.push_back(credentials.user);
  }
  return out;
}

}  // namespace strata::auth
