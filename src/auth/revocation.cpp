#include "auth/revocation.h"

#include <algorithm>

#include "auth/auth_db.h"

namespace strata::auth {

RevocationList::RevocationList(std::unique_ptr<AuthDb> db) : db_(std::move(db)) {}
RevocationList::~RevocationList() = default;

Result<std::unique_ptr<RevocationList>> RevocationList::open(const std::filesystem::path& data_dir) {
  auto db = AuthDb::open(data_dir);
  if (!db) return std::unexpected(db.error());
  std::unique_ptr<RevocationList> list(new RevocationList(std::move(*db)));
  auto stmt = list->db_->prepare("SELECT jti, expires_at FROM revoked_tokens");
  if (!stmt) return std::unexpected(stmt.error());
  for (;;) {
    auto row = stmt->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    list->revoked_.emplace(stmt->text(0), stmt->integer(1));
  }
  return list;
}

Result<void> RevocationList::revoke(std::string_view jti, std::int64_t expires_at) {
  if (jti.empty()) return fail("TOKEN_CLAIMS", "a token without jti cannot be revoked");
  {
    std::lock_guard lock(db_mutex_);
    auto ok = db_->run(
        "INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) "
        "ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
        jti, expires_at);
    if (!ok) return ok;
  }
  std::unique_lock lock(revoked_mutex_);
  auto [it, inserted] = revoked_.emplace(std::string(jti), expires_at);
  if (!inserted) it->second = std::max(it->second, expires_at);
  return {};
}

bool RevocationList::is_revoked(std::string_view jti) const {
  if (jti.empty()) return false;
  std::shared_lock lock(revoked_mutex_);
  return revoked_.contains(jti);
}

Result<std::size_t> RevocationList::purge_expired(std::int64_t now, std::int64_t leeway_seconds) {
  const std::int64_t cutoff = now - leeway_seconds;
  {
    std::lock_guard lock(db_mutex_);
    auto ok = db_->run("DELETE FROM revoked_tokens WHERE expires_at < ?", cutoff);
    if (!ok) return std::unexpected(ok.error());
  }
  std::unique_lock lock(revoked_mutex_);
  return std::erase_if(revoked_, [cutoff](const auto& entry) { return entry.second < cutoff; });
}

}  // namespace strata::auth
