// API keys: opaque bearer secrets for the build API and the token endpoint,
// each bound to a role (operator, or tenant T). Stored in <data-dir>/auth.db
// as SHA-256 hashes only, next to a short id that is not secret (the first 8
// characters after "sk_") used for lookup, listing and revocation; the
// plaintext is returned once by create() and never again. Keys are
// "sk_" + base64url(32 random bytes), so a plain hash is as strong as the
// key and no slow KDF is needed.
//
// Thread-safe: calls are serialised on one SQLite connection. Errors:
// UNAUTHORIZED (unknown, revoked or malformed key), KEY_UNKNOWN (revoke of
// an unknown id), TENANT_INVALID, DB, IO.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/principal.h"
#include "common/error.h"

namespace strata::auth {

class AuthDb;

struct ApiKeyInfo {
  std::string id;
  Role role = Role::tenant;
  std::string tenant;  // empty for operator keys
  std::int64_t created_at = 0;
  std::optional<std::int64_t> revoked_at;
};

struct NewApiKey {
  ApiKeyInfo info;
  std::string secret;  // the plaintext key; shown once
};

class ApiKeyStore {
 public:
  static Result<std::unique_ptr<ApiKeyStore>> open(const std::filesystem::path& data_dir);
  ~ApiKeyStore();

  // `tenant` must be a valid tenant id for Role::tenant and empty for the operator.
  Result<NewApiKey> create(Role role, std::string_view tenant);
  Result<Principal> authenticate(std::string_view key) const;
  Result<std::vector<ApiKeyInfo>> list() const;
  Result<void> revoke(std::string_view id);

  // On the very first start only, creates an operator key and writes it to
  // <data-dir>/operator.key (mode 0600); returns that path. Later calls
  // return nullopt, even if the file was since deleted.
  Result<std::optional<std::filesystem::path>> ensure_bootstrap_operator();

 private:
  ApiKeyStore(std::filesystem::path data_dir, std::unique_ptr<AuthDb> db);
  Result<NewApiKey> insert_key(Role role, std::string_view tenant);

  std::filesystem::path data_dir_;
  std::unique_ptr<AuthDb> db_;
  mutable std::mutex mutex_;
};

}  // namespace strata::auth
