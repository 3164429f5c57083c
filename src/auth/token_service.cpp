#include "auth/token_service.h"

#include "auth/base64url.h"
#include "auth/jwt.h"
#include "auth/secrets.h"
#include "auth/strict_json.h"
#include "auth/verified_token_cache.h"

namespace strata::auth {
namespace {

using nlohmann::json;

constexpr std::size_t kJwtIdBytes = 16;

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<Principal> principal_from_claims(const VerifiedJwt& jwt) {
  auto payload = parse_json_object(jwt.payload_json);
  if (!payload) return fail("TOKEN_CLAIMS", "token payload is not a JSON object");
  auto role_claim = payload->find("role");
  if (role_claim == payload->end() || !role_claim->is_string())
    return fail("TOKEN_CLAIMS", "API token needs a string claim role");
  auto role = parse_role(role_claim->get<std::string>());
  if (!role) return fail("TOKEN_CLAIMS", role.error().message);
  if (*role == Role::operator_) return Principal::operator_principal();
  auto tenant = payload->find("tenant");
  if (tenant == payload->end() || !tenant->is_string())
    return fail("TOKEN_CLAIMS", "tenant API token needs a string claim tenant");
  auto principal = Principal::tenant_principal(tenant->get<std::string>());
  if (!principal) return fail("TOKEN_CLAIMS", principal.error().message);
  return principal;
}

}  // namespace

struct TokenService::State {
  KeySet keys;
  const Key* signer = nullptr;
  const RevocationList& revocations;
  TokenServiceOptions options;
  mutable VerifiedTokenCache<RegistryAccess> registry_cache;
  mutable VerifiedTokenCache<ApiIdentity> api_cache;

  std::int64_t now() const { return options.clock ? options.clock() : system_now(); }

  // Signs the registered claims plus `extra` claims for `audience`.
  Result<MintedToken> mint(std::string_view audience, std::string_view subject, json extra,
                           std::chrono::seconds ttl) const {
    if (ttl.count() <= 0) return fail("TTL_INVALID", "token lifetime must be positive");
    MintedToken minted;
    minted.issued_at = now();
    minted.expires_at = minted.issued_at + ttl.count();
    minted.jwt_id = base64url_encode(random_bytes(kJwtIdBytes));
    json claims = std::move(extra);
    claims["iss"] = options.issuer;
    claims["sub"] = subject;
    claims["aud"] = audience;
    claims["iat"] = minted.issued_at;
    claims["nbf"] = minted.issued_at;
    claims["exp"] = minted.expires_at;
    claims["jti"] = minted.jwt_id;
    auto token = sign_jwt(*signer, dump_json(claims));
    if (!token) return std::unexpected(token.error());
    minted.token = std::move(*token);
    return minted;
  }

  // Cache lookup, else full verification; `build` turns a verified JWT into
  // the cached value. Revocation is checked on both paths.
  template <class Value, class Build>
  Result<std::shared_ptr<const Value>> verify(std::string_view token, std::string_view audience,
                                              VerifiedTokenCache<Value>& cache, Build build) const {
    const auto at = now();
    if (auto hit = cache.find(token, at)) {
      if (revocations.is_revoked(hit->jwt_id)) return fail("TOKEN_REVOKED", "token has been revoked");
      return hit;
    }
    VerifyOptions verify_options{options.issuer, std::string(audience), at, options.leeway_seconds};
    auto jwt = verify_jwt(token, keys, verify_options);
    if (!jwt) return std::unexpected(jwt.error());
    if (revocations.is_revoked(jwt->claims.jwt_id)) return fail("TOKEN_REVOKED", "token has been revoked");
    auto value = build(*jwt);
    if (!value) return std::unexpected(value.error());
    auto shared = std::make_shared<const Value>(std::move(*value));
    cache.insert(token, shared, jwt->claims.expires_at + options.leeway_seconds);
    return shared;
  }
};

TokenService::TokenService(std::unique_ptr<State> state) : state_(std::move(state)) {}
TokenService::~TokenService() = default;

Result<std::unique_ptr<TokenService>> TokenService::create(KeySet keys, std::string_view signing_kid,
                                                           const RevocationList& revocations,
                                                           TokenServiceOptions options) {
  auto capacity = options.cache_capacity;
  auto state = std::unique_ptr<State>(
      new State{std::move(keys), nullptr, revocations, std::move(options), VerifiedTokenCache<RegistryAccess>(capacity),
                VerifiedTokenCache<ApiIdentity>(capacity)});
  // Look the signer up in the moved-to KeySet so the pointer stays valid.
  state->signer = signing_kid.empty() ? nullptr : state->keys.find(signing_kid);
  if (!state->signer || !state->signer->can_sign())
    return fail("KEY_INVALID", "no signing key with kid " + std::string(signing_kid));
  return std::unique_ptr<TokenService>(new TokenService(std::move(state)));
}

Result<MintedToken> TokenService::mint_registry_token(std::string_view subject, const GrantSet& grants,
                                                      std::chrono::seconds ttl) const {
  json extra = {{"access", json::parse(grants.access_claim_json())}};
  return state_->mint(kRegistryAudience, subject, std::move(extra), ttl);
}

Result<MintedToken> TokenService::mint_api_token(Role role, std::string_view tenant,
                                                 std::chrono::seconds ttl) const {
  Principal principal = Principal::operator_principal();
  if (role == Role::tenant) {
    auto p = Principal::tenant_principal(std::string(tenant));
    if (!p) return std::unexpected(p.error());
    principal = std::move(*p);
  } else if (!tenant.empty()) {
    return fail("TENANT_INVALID", "operator tokens belong to no tenant");
  }
  json extra = {{"role", role_name(role)}};
  if (role == Role::tenant) extra["tenant"] = principal.tenant;
  return state_->mint(kApiAudience, principal.subject(), std::move(extra), ttl);
}

Result<std::shared_ptr<const RegistryAccess>> TokenService::verify_registry_token(std::string_view token) const {
  return state_->verify(token, kRegistryAudience, state_->registry_cache,
                        [](const VerifiedJwt& jwt) -> Result<RegistryAccess> {
                          auto grants = GrantSet::from_claims(jwt.payload_json);
                          if (!grants) return std::unexpected(grants.error());
                          return RegistryAccess{jwt.claims.subject, std::move(*grants), jwt.claims.jwt_id,
                                                jwt.claims.expires_at};
                        });
}

Result<std::shared_ptr<const ApiIdentity>> TokenService::verify_api_token(std::string_view token) const {
  return state_->verify(token, kApiAudience, state_->api_cache,
                        [](const VerifiedJwt& jwt) -> Result<ApiIdentity> {
                          auto principal = principal_from_claims(jwt);
                          if (!principal) return std::unexpected(principal.error());
                          return ApiIdentity{std::move(*principal), jwt.claims.jwt_id, jwt.claims.expires_at};
                        });
}

const KeySet& TokenService::keys() const { return state_->keys; }
const std::string& TokenService::issuer() const { return state_->options.issuer; }

}  // namespace strata::auth
