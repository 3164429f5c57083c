#include "auth/auth_db.h"

#include <sqlite3.h>

namespace strata::auth {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  tenant TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS revoked_tokens (
  jti TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_state (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

std::unexpected<Error> db_error(sqlite3* db, std::string what) {
  return fail("DB", what + ": " + sqlite3_errmsg(db));
}

}  // namespace

Statement::~Statement() { sqlite3_finalize(stmt_); }
Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::bind(int index, std::string_view text) {
  // A default-constructed string_view has a null data(), which SQLite would bind as NULL.
  sqlite3_bind_text(stmt_, index, text.data() ? text.data() : "", static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_error(db_, "auth database statement failed");
}

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, column)) : std::string();
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Result<std::unique_ptr<AuthDb>> AuthDb::open(const std::filesystem::path& data_dir) {
  auto path = data_dir / "auth.db";
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  std::unique_ptr<AuthDb> db(new AuthDb(raw));
  if (rc != SQLITE_OK) return db_error(raw, "cannot open " + path.string());
  sqlite3_busy_timeout(raw, 5000);
  if (auto ok = db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !ok)
    return std::unexpected(ok.error());
  if (auto ok = db->exec(kSchema); !ok) return std::unexpected(ok.error());
  return db;
}

AuthDb::~AuthDb() { sqlite3_close_v2(db_); }

Result<Statement> AuthDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK)
    return db_error(db_, "cannot prepare auth database statement");
  return Statement(db_, stmt);
}

Result<void> AuthDb::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return fail("DB", "auth database: " + text);
  }
  return {};
}

int AuthDb::changes() const { return sqlite3_changes(db_); }

}  // namespace strata::auth
