#include "auth/api_keys.h"

#include <chrono>

#include "auth/auth_db.h"
#include "auth/base64url.h"
#include "auth/private_file.h"
#include "auth/secrets.h"

namespace strata::auth {
namespace {

constexpr std::string_view kPrefix = "sk_";
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kEncodedSecret = 43;  // base64url of 32 bytes
constexpr std::size_t kIdLength = 8;
constexpr int kInsertAttempts = 3;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string key_hash(std::string_view key) {
  auto digest = sha256(key);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::unexpected<Error> unauthorized() {
  return fail("UNAUTHORIZED", "API key is unknown, revoked or malformed");
}

ApiKeyInfo info_from_row(const Statement& row) {
  ApiKeyInfo info;
  info.id = row.text(0);
  info.role = parse_role(row.text(1)).value_or(Role::tenant);
  info.tenant = row.text(2);
  info.created_at = row.integer(3);
  if (!row.is_null(4)) info.revoked_at = row.integer(4);
  return info;
}

}  // namespace

ApiKeyStore::ApiKeyStore(std::filesystem::path data_dir, std::unique_ptr<AuthDb> db)
    : data_dir_(std::move(data_dir)), db_(std::move(db)) {}
ApiKeyStore::~ApiKeyStore() = default;

Result<std::unique_ptr<ApiKeyStore>> ApiKeyStore::open(const std::filesystem::path& data_dir) {
  auto db = AuthDb::open(data_dir);
  if (!db) return std::unexpected(db.error());
  return std::unique_ptr<ApiKeyStore>(new ApiKeyStore(data_dir, std::move(*db)));
}

Result<NewApiKey> ApiKeyStore::insert_key(Role role, std::string_view tenant) {
  if (role == Role::tenant) {
    if (auto ok = validate_tenant_id(tenant); !ok) return std::unexpected(ok.error());
  } else if (!tenant.empty()) {
    return fail("TENANT_INVALID", "operator keys belong to no tenant");
  }
  for (int attempt = 0; attempt < kInsertAttempts; ++attempt) {
    NewApiKey key;
    key.secret = std::string(kPrefix) + base64url_encode(random_bytes(kSecretBytes));
    key.info = ApiKeyInfo{key.secret.substr(kPrefix.size(), kIdLength), role, std::string(tenant),
                          unix_now(), std::nullopt};
    // OR IGNORE: an id collision (48 random bits) just means another draw.
    auto ok = db_->run(
        "INSERT OR IGNORE INTO api_keys (id, secret_hash, role, tenant, created_at) VALUES (?,?,?,?,?)",
        key.info.id, key_hash(key.secret), role_name(role), tenant, key.info.created_at);
    if (!ok) return std::unexpected(ok.error());
    if (db_->changes() == 1) return key;
  }
  return fail("INTERNAL", "could not allocate a unique API key id");
}

Result<NewApiKey> ApiKeyStore::create(Role role, std::string_view tenant) {
  std::lock_guard lock(mutex_);
  return insert_key(role, tenant);
}

Result<Principal> ApiKeyStore::authenticate(std::string_view key) const {
  if (!key.starts_with(kPrefix) || key.size() != kPrefix.size() + kEncodedSecret ||
      !base64url_decode(key.substr(kPrefix.size())))
    return unauthorized();
  std::lock_guard lock(mutex_);
  auto stmt = db_->prepare(
      "SELECT secret_hash, role, tenant FROM api_keys WHERE id = ? AND revoked_at IS NULL");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->bind(1, key.substr(kPrefix.size(), kIdLength));
  auto row = stmt->step();
  if (!row) return std::unexpected(row.error());
  if (!*row || !constant_time_equal(stmt->text(0), key_hash(key))) return unauthorized();
  auto role = parse_role(stmt->text(1));
  if (!role) return std::unexpected(role.error());
  std::string id(key.substr(kPrefix.size(), kIdLength));
  if (*role == Role::operator_) return Principal::operator_principal(std::move(id));
  return Principal::tenant_principal(stmt->text(2), std::move(id));
}

Result<std::vector<ApiKeyInfo>> ApiKeyStore::list() const {
  std::lock_guard lock(mutex_);
  auto stmt = db_->prepare(
      "SELECT id, role, tenant, created_at, revoked_at FROM api_keys ORDER BY created_at, id");
  if (!stmt) return std::unexpected(stmt.error());
  std::vector<ApiKeyInfo> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back(info_from_row(*stmt));
  }
}

Result<void> ApiKeyStore::revoke(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto ok = db_->run("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                     unix_now(), id);
  if (!ok) return ok;
  if (db_->changes() == 0) return fail("KEY_UNKNOWN", "no active API key with id " + std::string(id));
  return {};
}

Result<std::optional<std::filesystem::path>> ApiKeyStore::ensure_bootstrap_operator() {
  std::lock_guard lock(mutex_);
  // The marker row and the key commit together, and only after the file is
  // on disk: a crash before commit just repeats the bootstrap next start.
  if (auto ok = db_->exec("BEGIN IMMEDIATE"); !ok) return std::unexpected(ok.error());
  auto result = [&]() -> Result<std::optional<std::filesystem::path>> {
    auto ok = db_->run("INSERT OR IGNORE INTO auth_state (name, value) VALUES ('bootstrap_operator', ?)",
                       std::to_string(unix_now()));
    if (!ok) return std::unexpected(ok.error());
    if (db_->changes() == 0) return std::nullopt;
    auto key = insert_key(Role::operator_, {});
    if (!key) return std::unexpected(key.error());
    auto path = data_dir_ / "operator.key";
    auto written = write_private_file(path, key->secret + "\n", IfExists::replace);
    if (!written) return std::unexpected(written.error());
    return path;
  }();
  auto end = db_->exec(result ? "COMMIT" : "ROLLBACK");
  if (!end) return std::unexpected(end.error());
  return result;
}

}  // namespace strata::auth
