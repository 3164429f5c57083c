// Everything `serve` and the offline CLI need to authenticate and authorize,
// opened from one data directory: the signing keys (HS256 secret and ES256
// pair, both always in the verifying key set, one chosen to sign), the token
// service, the API key store, the revocation list and the policy options
// (shared namespaces, anonymous pull). It knows nothing of HTTP routes or
// storage paths beyond its own files in the data directory:
//   token.secret (unless a secret is given), token-es256.pem, auth.db.
//
// open() creates missing key files (mode 0600) and validates every pattern
// option (SCOPE_INVALID names the bad one), so a misconfigured server fails
// at start, not on the first request. Errors otherwise are those of
// key_files.h, api_keys.h and revocation.h.
//
// Thread-safety: all const methods and the owned services are safe to use
// from many request threads once open() returned.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <span>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/access.h"
#include "auth/api_keys.h"
#include "auth/principal.h"
#include "auth/revocation.h"
#include "auth/signing_key.h"
#include "auth/token_service.h"
#include "common/error.h"

namespace strata::auth {

// The `service` of the Docker token protocol: the challenge names it and
// clients send it back to the token endpoint.
inline constexpr std::string_view kServiceName = "strata";

struct AuthOptions {
  std::string issuer = "strata";
  // HS256 secret given by flag or env; empty means <data-dir>/token.secret.
  std::string token_secret;
  JwsAlgorithm signing = JwsAlgorithm::HS256;
  // Pull patterns every tenant gets in addition to its own namespaces.
  std::vector<std::string> shared_namespaces = default_shared_namespaces();
  // Pull patterns anyone gets without credentials (none by default).
  std::vector<std::string> anonymous_pull;
  // Lifetime of tokens the token endpoint issues.
  std::chrono::seconds registry_token_ttl{300};
};

class AuthService {
 public:
  static Result<std::unique_ptr<AuthService>> open(const std::filesystem::path& data_dir,
                                                   AuthOptions options);
  ~AuthService();

  const TokenService& tokens() const { return *tokens_; }
  ApiKeyStore& api_keys() const { return *api_keys_; }
  RevocationList& revocations() const { return *revocations_; }
  const AuthOptions& options() const { return options_; }

  // What `principal` may ever be granted (see principal.h).
  GrantSet policy_for(const Principal& principal) const;
  // policy_for(principal), plus pull on each requested `builds/<id>` that is
  // one of the principal's own builds (a tenant pulls its build results).
  GrantSet policy_for(const Principal& principal, std::span<const Scope> requested) const;

  // Whether build `build_id` belongs to `tenant`. Auth does not know where
  // builds are stored; the build service answers. Set once, before serving.
  using BuildOwnership = std::function<bool(std::string_view tenant, std::string_view build_id)>;
  void set_build_ownership(BuildOwnership ownership) { build_ownership_ = std::move(ownership); }
  // What a caller without credentials may be granted: pull on the
  // anonymous-pull patterns.
  const GrantSet& anonymous_policy() const { return anonymous_; }

 private:
  AuthService() = default;

  AuthOptions options_;
  GrantSet anonymous_;
  BuildOwnership build_ownership_;
  std::unique_ptr<RevocationList> revocations_;
  std::unique_ptr<ApiKeyStore> api_keys_;
  std::unique_ptr<TokenService> tokens_;  // refers to *revocations_; declared after it
};

// "hs256" or "es256" (case-insensitive); KEY_INVALID otherwise.
Result<JwsAlgorithm> parse_signing_algorithm(std::string_view name);

}  // namespace strata::auth
