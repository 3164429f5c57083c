// Internal to src/auth: one SQLite connection to <data-dir>/auth.db (WAL),
// kept apart from the registry's database so credentials have their own
// file. Opening creates the schema for every auth table (API keys, revoked
// token ids, bootstrap state), so any auth component may open first.
// A connection is not thread-safe: its owner serialises use. Failures are
// Error{"DB", ...}.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace strata::auth {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);
  // true while a row is available, false when done.
  Result<bool> step();
  std::string text(int column) const;
  std::int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class AuthDb {
 public:
  static Result<std::unique_ptr<AuthDb>> open(const std::filesystem::path& data_dir);
  ~AuthDb();
  AuthDb(const AuthDb&) = delete;
  AuthDb& operator=(const AuthDb&) = delete;

  Result<Statement> prepare(std::string_view sql);
  Result<void> exec(const char* sql);  // statements without parameters or rows
  // Runs one statement with parameters to completion.
  template <class... Args>
  Result<void> run(std::string_view sql, const Args&... args) {
    auto stmt = prepare(sql);
    if (!stmt) return std::unexpected(stmt.error());
    int index = 0;
    (stmt->bind(++index, args), ...);
    auto done = stmt->step();
    if (!done) return std::unexpected(done.error());
    return {};
  }
  int changes() const;

 private:
  explicit AuthDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace strata::auth
