// Docker token authentication (distribution's docs/spec/auth/token.md) and
// Basic authentication for RegistryClient.
#include "engine/remote/registry_auth.h"

#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/remote/auth_challenge.h"

namespace strata::engine::remote {
namespace {

// Tokens are dropped this long before they expire, so none expires in flight.
constexpr std::chrono::seconds kExpiryMargin{10};
constexpr std::chrono::seconds kDefaultTokenLifetime{60};
constexpr std::size_t kMaxTokenResponse = 1024 * 1024;

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string join(const Scopes& scopes) {
  std::string out;
  for (const auto& scope : scopes) out += (out.empty() ? "" : " ") + scope;
  return out;
}

}  // namespace

RegistryAuth::RegistryAuth(http::Client& client, Credentials credentials, bool insecure)
    : client_(client), credentials_(std::move(credentials)), insecure_(insecure) {}

std::string RegistryAuth::basic_header() const {
  // strata takes a registry JWT as the Basic password; the user name is free.
  const std::string& user =
      credentials_.kind == Credentials::Kind::bearer ? std::string("token") : credentials_.username;
  return "Basic " + base64(user + ":" + credentials_.secret);
}

Result<void> RegistryAuth::authorize(http::ClientRequest& request, const Scopes& scopes) {
  request.headers.remove("Authorization");
  bool has_secret = credentials_.kind != Credentials::Kind::none;
  if (scheme_ == Scheme::basic && has_secret) {
    request.headers.set("Authorization", basic_header());
  } else if (credentials_.kind == Credentials::Kind::bearer) {
    request.headers.set("Authorization", "Bearer " + credentials_.secret);
  } else if (scheme_ == Scheme::bearer) {
    auto it = tokens_.find(join(scopes));
    std::string token;
    if (it != tokens_.end() && std::chrono::steady_clock::now() < it->second.expires) {
      token = it->second.token;
    } else {
      auto fetched = fetch_token(scopes, {});
      if (!fetched) return std::unexpected(fetched.error());
      token = std::move(*fetched);
    }
    request.headers.set("Authorization", "Bearer " + token);
  }
  return {};
}

Result<bool> RegistryAuth::handle_challenge(const http::ClientResponse& response, const Scopes& scopes) {
  std::vector<AuthChallenge> challenges;
  for (auto value : response.headers.get_all("WWW-Authenticate"))
    for (auto& challenge : parse_auth_challenges(value)) challenges.push_back(std::move(challenge));
  auto find = [&](std::string_view scheme) {
    return std::find_if(challenges.begin(), challenges.end(),
                        [&](const AuthChallenge& c) { return c.scheme == scheme; });
  };

  // A fixed token is the only credential there is: a Bearer challenge means
  // it was refused, a Basic one that it has to travel as a password.
  if (auto bearer = find("bearer");
      bearer != challenges.end() && credentials_.kind != Credentials::Kind::bearer) {
    auto realm = bearer->params.find("realm");
    if (realm == bearer->params.end() || realm->second.empty()) return false;
    scheme_ = Scheme::bearer;
    realm_ = realm->second;
    service_ = bearer->params.contains("service") ? bearer->params.at("service") : "";
    std::string challenge_scope = bearer->params.contains("scope") ? bearer->params.at("scope") : "";
    auto token = fetch_token(scopes, challenge_scope);
    if (!token) return std::unexpected(token.error());
    return true;
  }
  if (find("basic") != challenges.end() && credentials_.kind != Credentials::Kind::none &&
      scheme_ != Scheme::basic) {
    scheme_ = Scheme::basic;
    return true;
  }
  return false;
}

Result<std::string> RegistryAuth::fetch_token(const Scopes& scopes, const std::string& challenge_scope) {
  std::string url = realm_ + (realm_.find('?') == std::string::npos ? "?" : "&");
  url += "service=" + http::percent_encode(service_);
  Scopes requested = scopes;
  // The registry's own scope names what it checks; ask for it too.
  if (!challenge_scope.empty() &&
      std::find(requested.begin(), requested.end(), challenge_scope) == requested.end())
    requested.push_back(challenge_scope);
  for (const auto& scope : requested) url += "&scope=" + http::percent_encode(scope);

  http::ClientRequest request;
  request.url = url;
  request.insecure = insecure_;
  if (credentials_.kind == Credentials::Kind::basic)
    request.headers.set("Authorization", basic_header());
  auto response = client_.request(request, kMaxTokenResponse);
  if (!response) return std::unexpected(response.error());
  if (response->status != 200)
    return fail(response->status == 401 || response->status == 403 ? "UNAUTHORIZED" : "UNAVAILABLE",
                "token service " + realm_ + " answered HTTP " + std::to_string(response->status) +
                    (credentials_.kind == Credentials::Kind::basic ? " to the configured credentials"
                                                                   : " to an anonymous request"),
                response->body.substr(0, 512));

  auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (!json.is_object()) return fail("UNAUTHORIZED", "token service " + realm_ + " sent no JSON object");
  std::string token;
  for (const char* field : {"token", "access_token"})
    if (auto it = json.find(field); it != json.end() && it->is_string() && !it->get<std::string>().empty()) {
      token = it->get<std::string>();
      break;
    }
  if (token.empty()) return fail("UNAUTHORIZED", "token service " + realm_ + " sent no token");

  auto lifetime = kDefaultTokenLifetime;
  if (auto it = json.find("expires_in"); it != json.end() && it->is_number_integer())
    lifetime = std::max(std::chrono::seconds(it->get<std::int64_t>()), kDefaultTokenLifetime);
  tokens_[join(scopes)] = CachedToken{token, std::chrono::steady_clock::now() + lifetime - kExpiryMargin};
  return token;
}

}  // namespace strata::engine::remote
