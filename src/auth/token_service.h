// Mints and verifies strata's two kinds of tokens. Registry tokens (aud
// "strata-registry") carry a Docker `access` claim and are what /v2/ accepts;
// API tokens (aud "strata-api") carry a role and tenant and are what the
// build API accepts. Each verify_* refuses the other audience, any revoked
// jti (TOKEN_REVOKED) and everything verify_jwt refuses (see jwt.h for the
// TOKEN_* codes).
//
// Verified tokens are cached (bounded, by token hash, until exp + leeway),
// so per-request verification is a hash and a lookup; revocation is still
// checked on every call. Thread-safe; results are immutable and shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "auth/access.h"
#include "auth/principal.h"
#include "auth/revocation.h"
#include "auth/signing_key.h"
#include "common/error.h"

namespace strata::auth {

inline constexpr std::string_view kRegistryAudience = "strata-registry";
inline constexpr std::string_view kApiAudience = "strata-api";

struct TokenServiceOptions {
  std::string issuer = "strata";
  std::int64_t leeway_seconds = 60;
  std::size_t cache_capacity = 4096;  // per audience; 0 disables caching
  // Seconds since the epoch; the system clock when empty (tests inject time).
  std::function<std::int64_t()> clock;
};

struct MintedToken {
  std::string token;
  std::string jwt_id;
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
};

struct RegistryAccess {
  std::string subject;
  GrantSet grants;
  std::string jwt_id;
  std::int64_t expires_at = 0;
};

struct ApiIdentity {
  Principal principal;
  std::string jwt_id;
  std::int64_t expires_at = 0;
};

class TokenService {
 public:
  // `signing_kid` must name a key of `keys` that can sign. `revocations`
  // must outlive the service.
  static Result<std::unique_ptr<TokenService>> create(KeySet keys, std::string_view signing_kid,
                                                      const RevocationList& revocations,
                                                      TokenServiceOptions options = {});
  ~TokenService();

  // TTL_INVALID for a non-positive ttl.
  Result<MintedToken> mint_registry_token(std::string_view subject, const GrantSet& grants,
                                          std::chrono::seconds ttl) const;
  // TENANT_INVALID unless the tenant fits the role (see Principal).
  Result<MintedToken> mint_api_token(Role role, std::string_view tenant, std::chrono::seconds ttl) const;

  Result<std::shared_ptr<const RegistryAccess>> verify_registry_token(std::string_view token) const;
  Result<std::shared_ptr<const ApiIdentity>> verify_api_token(std::string_view token) const;

  const KeySet& keys() const;
  const std::string& issuer() const;

 private:
  struct State;
  explicit TokenService(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace strata::auth
