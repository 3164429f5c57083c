#include "auth/authorization_guard.h"

#include <spdlog/spdlog.h>

#include "auth/caller.h"
#include "auth/error_responses.h"
#include "auth/http_credentials.h"

namespace strata::auth {
namespace {

enum class Denial { missing, invalid, scope };

std::string_view label(Denial reason) {
  switch (reason) {
    case Denial::missing: return "missing";
    case Denial::invalid: return "invalid";
    case Denial::scope: return "scope";
  }
  return "invalid";
}

// What a registry route asks of the caller, and the scope a client must
// request to get it (the `scope` of the challenge; empty for GET /v2/).
struct Requirement {
  http::Action action = http::Action::none;
  std::string repository;
  std::string scope;
};

Requirement requirement_for(const http::Request& request, const http::Route& route) {
  Requirement need{route.action, {}, {}};
  if (route.action == http::Action::catalog) {
    need.scope = "registry:catalog:*";
    return need;
  }
  if (route.action == http::Action::none) return need;
  if (auto it = request.params.find("name"); it != request.params.end()) need.repository = it->second;
  // Docker clients ask "pull,push" to push; a push grant covers both.
  std::string_view actions = route.action == http::Action::pull   ? "pull"
                             : route.action == http::Action::push ? "pull,push"
                                                                  : "delete";
  need.scope = "repository:" + need.repository + ":" + std::string(actions);
  return need;
}

bool satisfies(const GrantSet& grants, const Requirement& need) {
  switch (need.action) {
    case http::Action::none: return true;
    case http::Action::catalog: return grants.allows_catalog();
    case http::Action::pull: return grants.allows(need.repository, Action::pull);
    case http::Action::push: return grants.allows(need.repository, Action::push);
    case http::Action::del: return grants.allows(need.repository, Action::delete_);
  }
  return false;
}

// The first candidate that verifies as a registry token, else the reason the
// last one did not.
Result<std::shared_ptr<const RegistryAccess>> verify_registry_credentials(
    const TokenService& tokens, const PresentedCredentials& credentials) {
  Error last{"TOKEN_MALFORMED", "the credentials hold no registry token", {}};
  for (auto candidate : jwt_candidates(credentials)) {
    auto access = tokens.verify_registry_token(candidate);
    if (access) return access;
    last = access.error();
  }
  return std::unexpected(last);
}

class AuthorizationGuard {
 public:
  AuthorizationGuard(const AuthService& auth, std::string public_url, http::Metrics& metrics)
      : auth_(auth), metrics_(metrics) {
    while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();
    realm_ = public_url + "/v2/token";
    anonymous_ = std::make_shared<const RegistryAccess>(
        RegistryAccess{"anonymous", auth.anonymous_policy(), {}, 0});
  }

  std::optional<http::Response> operator()(http::Request& request, const http::Route& route) const {
    switch (route.credentials) {
      case http::Credentials::none: return std::nullopt;
      case http::Credentials::registry: return authorize_registry(request, route);
      case http::Credentials::api: return authorize_api(request, route);
    }
    return std::nullopt;
  }

 private:
  std::optional<http::Response> authorize_registry(http::Request& request, const http::Route& route) const {
    auto need = requirement_for(request, route);
    auto credentials = presented_credentials(request);
    if (credentials.scheme == PresentedCredentials::Scheme::none) {
      if (need.action == http::Action::pull && anonymous_->grants.may_pull(need.repository)) {
        set_registry_caller(request, anonymous_);
        return std::nullopt;
      }
      return deny_registry(Denial::missing, "anonymous", route, need, "authentication required");
    }
    auto access = verify_registry_credentials(auth_.tokens(), credentials);
    if (!access)
      return deny_registry(Denial::invalid, "-", route, need,
                           "invalid registry token: " + access.error().message, access.error().code);
    if (!satisfies((*access)->grants, need))
      return deny_registry(Denial::scope, (*access)->subject, route, need,
                           need.scope.empty() ? "access denied" : "token does not grant " + need.scope);
    set_registry_caller(request, std::move(*access));
    return std::nullopt;
  }

  std::optional<http::Response> authorize_api(http::Request& request, const http::Route& route) const {
    auto credentials = presented_credentials(request);
    if (credentials.scheme == PresentedCredentials::Scheme::none)
      return deny_api(Denial::missing, route, "authentication required: send Authorization: Bearer <API key>");
    if (credentials.scheme != PresentedCredentials::Scheme::bearer)
      return deny_api(Denial::invalid, route, "the API takes Authorization: Bearer <API key or API token>");
    auto principal = api_principal(credentials.secret);
    if (!principal) return deny_api(Denial::invalid, route, principal.error().message, principal.error().code);
    set_api_caller(request, std::move(*principal));
    return std::nullopt;
  }

  // An API key ("sk_...") or an API token.
  Result<Principal> api_principal(std::string_view secret) const {
    if (secret.starts_with("sk_")) return auth_.api_keys().authenticate(secret);
    auto identity = auth_.tokens().verify_api_token(secret);
    if (!identity) return std::unexpected(identity.error());
    return (*identity)->principal;
  }

  http::Response deny_registry(Denial reason, std::string_view subject, const http::Route& route,
                               const Requirement& need, std::string_view message,
                               std::string_view error_code = {}) const {
    record(reason, subject, route, need.repository, need.action, error_code);
    std::string challenge = "Bearer realm=\"" + realm_ + "\",service=\"" + std::string(kServiceName) + "\"";
    if (!need.scope.empty()) challenge += ",scope=\"" + need.scope + "\"";
    if (reason == Denial::invalid) challenge += ",error=\"invalid_token\"";
    if (reason == Denial::scope) challenge += ",error=\"insufficient_scope\"";
    auto response = registry_error(401, reason == Denial::scope ? "DENIED" : "UNAUTHORIZED", message);
    response.headers.set("WWW-Authenticate", std::move(challenge));
    return response;
  }

  http::Response deny_api(Denial reason, const http::Route& route, std::string_view message,
                          std::string_view error_code = {}) const {
    record(reason, "-", route, {}, route.action, error_code);
    auto response = api_error(401, "UNAUTHORIZED", message);
    std::string challenge = "Bearer realm=\"" + std::string(kServiceName) + "\"";
    if (reason == Denial::invalid) challenge += ",error=\"invalid_token\"";
    response.headers.set("WWW-Authenticate", std::move(challenge));
    return response;
  }

  void record(Denial reason, std::string_view subject, const http::Route& route, std::string_view repository,
              http::Action action, std::string_view error_code) const {
    spdlog::warn("auth denied: reason={} subject={} route={} repository={} action={}{}{}", label(reason),
                 subject, route.id, repository.empty() ? "-" : repository, http::to_string(action),
                 error_code.empty() ? "" : " error=", error_code);
    metrics_.inc("strata_auth_denied_total", "reason=\"" + std::string(label(reason)) + "\"");
  }

  const AuthService& auth_;
  http::Metrics& metrics_;
  std::string realm_;
  std::shared_ptr<const RegistryAccess> anonymous_;
};

}  // namespace

http::Guard authorization_guard(const AuthService& auth, std::string public_url, http::Metrics& metrics) {
  auto guard = std::make_shared<const AuthorizationGuard>(auth, std::move(public_url), metrics);
  return [guard](http::Request& request, const http::Route& route) { return (*guard)(request, route); };
}

}  // namespace strata::auth
