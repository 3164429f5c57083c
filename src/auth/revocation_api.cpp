// POST /tokens/revoke; see revocation_api.h.
#include "auth/revocation_api.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "auth/caller.h"
#include "auth/error_responses.h"
#include "auth/strict_json.h"

namespace strata::auth {
namespace {

constexpr std::size_t kMaxBodyBytes = 16 * 1024;

struct TokenId {
  std::string jti;
  std::int64_t expires_at = 0;
};

// The id and expiry of a token strata issued and would still accept.
Result<TokenId> identify(const TokenService& tokens, std::string_view token) {
  if (auto access = tokens.verify_registry_token(token)) return TokenId{(*access)->jwt_id, (*access)->expires_at};
  auto identity = tokens.verify_api_token(token);
  if (!identity) return std::unexpected(identity.error());
  return TokenId{(*identity)->jwt_id, (*identity)->expires_at};
}

http::Response revoke_token(const AuthService& auth, http::Request& request) {
  if (auto refused = require_operator(request, "revoke tokens")) return std::move(*refused);
  auto body = http::read_all(*request.body, kMaxBodyBytes);
  if (!body) return api_error(400, "BAD_REQUEST", body.error().message);
  auto object = parse_json_object(*body);
  if (!object) return api_error(400, "BAD_REQUEST", "the body must be a JSON object");
  auto token = object->find("token");
  if (token == object->end() || !token->is_string())
    return api_error(400, "BAD_REQUEST", "\"token\" must be the JWT to revoke");
  auto id = identify(auth.tokens(), token->get<std::string>());
  if (!id) return api_error(400, "TOKEN_INVALID", "not a token strata accepts: " + id.error().message);
  if (auto ok = auth.revocations().revoke(id->jti, id->expires_at); !ok) {
    spdlog::error("token revocation failed: {}", ok.error().message);
    return api_error(500, "INTERNAL", "internal error");
  }
  spdlog::info("token revoked: jti={} by={}", id->jti, api_caller(request)->subject());
  nlohmann::json answer = {{"jti", id->jti}, {"expires_at", id->expires_at}};
  return http::Response::json(200, dump_json(answer));
}

}  // namespace

void add_revocation_routes(http::Router& router, const AuthService& auth) {
  router.add({"POST", "/tokens/revoke", "tokens_revoke", http::Action::none,
              [&auth](http::Request& request) { return revoke_token(auth, request); },
              http::Credentials::api});
}

}  // namespace strata::auth
