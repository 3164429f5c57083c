#include "auth/token_endpoint.h"

#include <map>
#include <optional>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "auth/error_responses.h"
#include "auth/http_credentials.h"
#include "common/rfc3339.h"
#include "auth/scope.h"
#include "auth/strict_json.h"

namespace strata::auth {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxFormBytes = 64 * 1024;

// "repository:acme/app:pull,push registry:catalog:*": what a token grants,
// in the request grammar.
std::string scope_text(const GrantSet& grants) {
  std::string out;
  for (const auto& grant : grants.grants()) {
    bool registry = grant.type == ResourceType::registry;
    Scope scope{registry ? "registry" : "repository", grant.name,
                registry ? std::vector<std::string>{"*"} : grant.actions.effective().names()};
    out += (out.empty() ? "" : " ") + scope.str();
  }
  return out;
}

std::string requested_text(std::span<const Scope> scopes) {
  std::string out;
  for (const auto& scope : scopes) out += (out.empty() ? "" : " ") + scope.str();
  return out;
}

std::optional<int> hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

// One component of application/x-www-form-urlencoded: '+' is a space.
std::optional<std::string> form_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] != '%') {
      out.push_back(in[i]);
    } else {
      if (i + 2 >= in.size()) return std::nullopt;
      auto hi = hex_value(in[i + 1]);
      auto lo = hex_value(in[i + 2]);
      if (!hi || !lo) return std::nullopt;
      out.push_back(static_cast<char>(*hi * 16 + *lo));
      i += 2;
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_form(std::string_view body) {
  std::map<std::string, std::string> fields;
  for (std::size_t start = 0; start < body.size();) {
    auto end = body.find('&', start);
    auto pair = body.substr(start, end - start);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      auto key = form_decode(pair.substr(0, eq));
      auto value = form_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
      if (!key || !value) return std::nullopt;
      fields.emplace(std::move(*key), std::move(*value));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return fields;
}

// Who asks: a principal for a valid API key, nullopt for nobody, an error
// for a key that does not authenticate.
using Requester = std::optional<Principal>;

struct Issued {
  MintedToken minted;
  GrantSet granted;
};

class TokenEndpoint {
 public:
  explicit TokenEndpoint(const AuthService& auth) : auth_(auth) {}

  http::Response get(http::Request& request) const {
    auto requester = requester_from_header(request);
    if (!requester) return refused(oauth_error(401, "invalid_grant", requester.error().message));
    std::vector<std::string> params;
    for (auto [it, end] = request.query.equal_range("scope"); it != end; ++it) params.push_back(it->second);
    auto scopes = parse_scopes(params);
    if (!scopes) return oauth_error(400, "invalid_scope", scopes.error().message);
    auto issued = issue(*requester, *scopes);
    if (!issued) return oauth_error(500, "server_error", "could not issue a token");
    json body = {{"token", issued->minted.token},
                 {"access_token", issued->minted.token},
                 {"expires_in", issued->minted.expires_at - issued->minted.issued_at},
                 {"issued_at", rfc3339(issued->minted.issued_at)}};
    return http::Response::json(200, dump_json(body));
  }

  http::Response post(http::Request& request) const {
    auto type = request.headers.get("Content-Type").value_or("");
    if (!type.starts_with("application/x-www-form-urlencoded"))
      return oauth_error(400, "invalid_request", "the body must be application/x-www-form-urlencoded");
    auto body = http::read_all(*request.body, kMaxFormBytes);
    if (!body) return oauth_error(400, "invalid_request", body.error().message);
    auto form = parse_form(*body);
    if (!form) return oauth_error(400, "invalid_request", "malformed form encoding");
    if ((*form)["grant_type"] != "password")
      return oauth_error(400, "unsupported_grant_type", "only the password grant (an API key) is supported");
    const auto& user = (*form)["username"];
    const auto& password = (*form)["password"];
    if (user.empty() && password.empty())
      return oauth_error(400, "invalid_request", "username and password (the API key) are required");
    auto principal = auth_.api_keys().authenticate(password.empty() ? user : password);
    if (!principal) return refused(oauth_error(401, "invalid_grant", principal.error().message));
    auto scopes = parse_scopes(std::span(&(*form)["scope"], 1));
    if (!scopes) return oauth_error(400, "invalid_scope", scopes.error().message);
    auto issued = issue(std::move(*principal), *scopes);
    if (!issued) return oauth_error(500, "server_error", "could not issue a token");
    json answer = {{"access_token", issued->minted.token},
                   {"token_type", "Bearer"},
                   {"expires_in", issued->minted.expires_at - issued->minted.issued_at},
                   {"issued_at", rfc3339(issued->minted.issued_at)},
                   {"scope", scope_text(issued->granted)}};
    return http::Response::json(200, dump_json(answer));
  }

  http::Response jwks(http::Request&) const {
    return http::Response::json(200, auth_.tokens().keys().jwks_json());
  }

 private:
  Result<Requester> requester_from_header(const http::Request& request) const {
    auto credentials = presented_credentials(request);
    switch (credentials.scheme) {
      case PresentedCredentials::Scheme::none: return Requester{};
      case PresentedCredentials::Scheme::basic: {
        auto principal = auth_.api_keys().authenticate(credentials.secret.empty() ? credentials.user
                                                                                  : credentials.secret);
        if (!principal) return std::unexpected(principal.error());
        return Requester{std::move(*principal)};
      }
      default:
        return fail("UNAUTHORIZED", "the token endpoint takes Authorization: Basic with an API key as password");
    }
  }

  Result<Issued> issue(const Requester& requester, std::span<const Scope> requested) const {
    GrantSet allowed = requester ? auth_.policy_for(*requester, requested) : GrantSet{};
    for (const auto& grant : auth_.anonymous_policy().grants()) allowed.add(grant);
    auto granted = GrantSet::intersect(requested, allowed);
    std::string subject = requester ? requester->subject() : "anonymous";
    auto minted = auth_.tokens().mint_registry_token(subject, granted, auth_.options().registry_token_ttl);
    if (!minted) {
      spdlog::error("token endpoint: minting failed: {}", minted.error().message);
      return std::unexpected(minted.error());
    }
    spdlog::info("auth granted: subject={} key={} requested=[{}] granted=[{}] jti={}", subject,
                 requester && !requester->key_id.empty() ? requester->key_id : "-", requested_text(requested),
                 scope_text(granted), minted->jwt_id);
    return Issued{std::move(*minted), std::move(granted)};
  }

  // A request whose credentials did not authenticate.
  static http::Response refused(http::Response response) {
    spdlog::warn("auth denied: reason=invalid route=token subject=- (API key not accepted)");
    response.headers.set("WWW-Authenticate", "Basic realm=\"" + std::string(kServiceName) + "\"");
    return response;
  }

  const AuthService& auth_;
};

}  // namespace

void add_token_routes(http::Router& router, const AuthService& auth) {
  auto endpoint = std::make_shared<const TokenEndpoint>(auth);
  router.add({"GET", "/v2/token", "token_get", http::Action::none,
              [endpoint](http::Request& r) { return endpoint->get(r); }, http::Credentials::none});
  router.add({"POST", "/v2/token", "token_post", http::Action::none,
              [endpoint](http::Request& r) { return endpoint->post(r); }, http::Credentials::none});
  router.add({"GET", "/.well-known/jwks.json", "jwks", http::Action::none,
              [endpoint](http::Request& r) { return endpoint->jwks(r); }, http::Credentials::none});
}

}  // namespace strata::auth
