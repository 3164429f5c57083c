// Revoked token ids (jti), persisted in <data-dir>/auth.db and mirrored in
// memory, because is_revoked() runs on every authorised request. A revoked
// id stays refused until the token's own expiry; purge_expired() then drops
// it. Revocations made by another process on the same database are seen
// after the next open(), not live.
//
// Thread-safe. Errors: TOKEN_CLAIMS (empty jti), DB.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "common/error.h"

namespace strata::auth {

class AuthDb;

class RevocationList {
 public:
  static Result<std::unique_ptr<RevocationList>> open(const std::filesystem::path& data_dir);
  ~RevocationList();

  // `expires_at` is the token's exp (seconds since the epoch).
  Result<void> revoke(std::string_view jti, std::int64_t expires_at);
  bool is_revoked(std::string_view jti) const;
  // Forgets ids whose tokens expired more than `leeway_seconds` before
  // `now`; returns how many. Pass the verifier's leeway: a token is still
  // accepted that long after exp, so its revocation must outlive it.
  Result<std::size_t> purge_expired(std::int64_t now, std::int64_t leeway_seconds);

 private:
  explicit RevocationList(std::unique_ptr<AuthDb> db);

  std::unique_ptr<AuthDb> db_;
  std::mutex db_mutex_;
  mutable std::shared_mutex revoked_mutex_;
  std::map<std::string, std::int64_t, std::less<>> revoked_;  // jti -> exp
};

}  // namespace strata::auth
