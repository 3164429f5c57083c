// SQLite-backed registry metadata: connection pool with per-connection
// prepared statements, versioned schema migrations, and the queries behind
// MetadataStore's contract (metadata_store.h).
#include "registry/metadata_store.h"

#include <sqlite3.h>

#include <mutex>
#include <unordered_map>

namespace strata::registry {
namespace {

// Propagates a failed Result from a helper call inside a Result-returning
// function; SQLite code checks every step, and this keeps it readable.
#define RETURN_IF_ERROR(expr)                                 \
  do {                                                        \
    if (auto status_ = (expr); !status_)                      \
      return std::unexpected(std::move(status_).error());     \
  } while (0)

// Schema versions, applied in order; PRAGMA user_version records how many
// have run. Never edit a released entry: append a new one.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE repositories (
  name    TEXT PRIMARY KEY,
  created INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE blob_links (
  repo      TEXT NOT NULL,
  digest    TEXT NOT NULL,
  linked_at INTEGER NOT NULL,
  PRIMARY KEY (repo, digest)
) WITHOUT ROWID;
CREATE INDEX blob_links_by_digest ON blob_links (digest, linked_at);

CREATE TABLE manifests (
  repo          TEXT NOT NULL,
  digest        TEXT NOT NULL,
  media_type    TEXT NOT NULL,
  size          INTEGER NOT NULL,
  artifact_type TEXT,
  subject       TEXT,
  annotations   TEXT,
  created       INTEGER NOT NULL,
  PRIMARY KEY (repo, digest)
) WITHOUT ROWID;
CREATE INDEX manifests_by_subject ON manifests (repo, subject) WHERE subject IS NOT NULL;
CREATE INDEX manifests_by_digest ON manifests (digest);

CREATE TABLE manifest_refs (
  repo     TEXT NOT NULL,
  manifest TEXT NOT NULL,
  child    TEXT NOT NULL,
  PRIMARY KEY (repo, manifest, child)
) WITHOUT ROWID;
CREATE INDEX manifest_refs_by_child ON manifest_refs (child);

CREATE TABLE tags (
  repo    TEXT NOT NULL,
  tag     TEXT NOT NULL,
  digest  TEXT NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (repo, tag)
) WITHOUT ROWID;
CREATE INDEX tags_by_digest ON tags (repo, digest);

CREATE TABLE uploads (
  uuid    TEXT PRIMARY KEY,
  repo    TEXT NOT NULL,
  created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX uploads_by_created ON uploads (created);
)sql",
};

std::int64_t to_millis(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point from_millis(std::int64_t ms) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(ms)));
}
std::int64_t now_millis() { return to_millis(Clock::now()); }

std::unexpected<Error> db_error(sqlite3* db, std::string_view what) {
  return fail("IO", "metadata database: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

// One SQLite connection, used by one thread at a time, with its prepared
// statements cached by SQL text address (all SQL is static in this file).
struct Connection {
  sqlite3* db = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> statements;

  ~Connection() {
    for (auto& [sql, stmt] : statements) sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
  }
};

// A cached prepared statement in use; reset when it goes out of scope so the
// connection can run it again. A failed prepare surfaces at the first step().
class Statement {
 public:
  // Text that means "none" when empty (artifact type, annotations): bound as NULL.
  struct Nullable {
    std::string_view value;
  };

  Statement(Connection& c, const char* sql) : db_(c.db) {
    auto [it, inserted] = c.statements.try_emplace(sql, nullptr);
    if (inserted && sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &it->second,
                                       nullptr) != SQLITE_OK) {
      prepare_error_ = sqlite3_errmsg(db_);
      c.statements.erase(it);
      return;
    }
    stmt_ = it->second;
  }
  ~Statement() {
    if (stmt_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  template <class... Args>
  Statement& bind(const Args&... args) {
    int index = 1;
    (bind_one(index++, args), ...);
    return *this;
  }

  // true: a row is available; false: done.
  Result<bool> step() {
    if (!stmt_) return fail("IO", "metadata database: prepare: " + prepare_error_);
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return db_error(db_, "query");
  }
  Result<void> run() {
    auto row = step();
    if (!row) return std::unexpected(row.error());
    return {};
  }
  // Runs a query and tells whether it produced a row.
  Result<bool> exists() { return step(); }
  // Collects the first column of every row.
  Result<std::vector<std::string>> strings() {
    std::vector<std::string> out;
    for (;;) {
      auto row = step();
      if (!row) return std::unexpected(row.error());
      if (!*row) return out;
      out.emplace_back(text(0));
    }
  }

  std::string text(int column) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string();
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  void bind_one(int i, std::string_view v) {
    // A null pointer would bind SQL NULL; an empty view still means ''.
    sqlite3_bind_text(stmt_, i, v.data() ? v.data() : "", static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
  }
  void bind_one(int i, const std::string& v) { bind_one(i, std::string_view(v)); }
  void bind_one(int i, const char* v) { bind_one(i, std::string_view(v)); }
  void bind_one(int i, const oci::Digest& d) { bind_one(i, d.str()); }
  void bind_one(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind_one(int i, std::uint64_t v) { sqlite3_bind_int64(stmt_, i, static_cast<std::int64_t>(v)); }
  // Empty text and absent values are stored as NULL.
  template <class T>
  void bind_one(int i, const std::optional<T>& v) {
    if (v) bind_one(i, *v);
    else sqlite3_bind_null(stmt_, i);
  }
  void bind_one(int i, Nullable v) {
    if (v.value.empty()) sqlite3_bind_null(stmt_, i);
    else bind_one(i, v.value);
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string prepare_error_;
};

Result<oci::Digest> digest_column(const Statement& st, int column) {
  auto d = oci::Digest::parse(st.text(column));
  if (!d) return fail("IO", "metadata database holds an invalid digest", st.text(column));
  return d;
}

// Runs `st` and turns each row into a T with `row_of`, which may fail.
template <class T, class RowOf>
Result<std::vector<T>> collect_rows(Statement& st, RowOf row_of) {
  std::vector<T> out;
  for (;;) {
    auto row = st.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    Result<T> item = row_of(st);
    if (!item) return std::unexpected(item.error());
    out.push_back(std::move(*item));
  }
}

Result<void> exec(Connection& c, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(c.db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return fail("IO", "metadata database: " + text);
  }
  return {};
}

// ---- SQL --------------------------------------------------------------------

constexpr const char* kBegin = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";

constexpr const char* kEnsureRepo =
    "INSERT INTO repositories (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING";
constexpr const char* kRepoExists = "SELECT 1 FROM repositories WHERE name = ?";
constexpr const char* kUpsertLink =
    "INSERT INTO blob_links (repo, digest, linked_at) VALUES (?, ?, ?) "
    "ON CONFLICT (repo, digest) DO UPDATE SET linked_at = excluded.linked_at";
constexpr const char* kLinkExists = "SELECT 1 FROM blob_links WHERE repo = ? AND digest = ?";
constexpr const char* kDeleteLink = "DELETE FROM blob_links WHERE repo = ? AND digest = ?";
constexpr const char* kReposWithBlob =
    "SELECT repo FROM blob_links WHERE digest = ? ORDER BY repo";

constexpr const char* kManifestExists = "SELECT 1 FROM manifests WHERE repo = ? AND digest = ?";
constexpr const char* kUpsertManifest =
    "INSERT INTO manifests (repo, digest, media_type, size, artifact_type, subject, annotations, "
    "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repo, digest) DO UPDATE SET "
    "media_type = excluded.media_type, size = excluded.size, "
    "artifact_type = excluded.artifact_type, subject = excluded.subject, "
    "annotations = excluded.annotations";
constexpr const char* kDeleteRefs = "DELETE FROM manifest_refs WHERE repo = ? AND manifest = ?";
constexpr const char* kInsertRef =
    "INSERT OR IGNORE INTO manifest_refs (repo, manifest, child) VALUES (?, ?, ?)";
constexpr const char* kUpsertTag =
    "INSERT INTO tags (repo, tag, digest, updated) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest, updated = excluded.updated";
constexpr const char* kGetManifest =
    "SELECT digest, media_type, size, subject FROM manifests WHERE repo = ? AND digest = ?";
constexpr const char* kGetTaggedManifest =
    "SELECT m.digest, m.media_type, m.size, m.subject FROM tags t JOIN manifests m "
    "ON m.repo = t.repo AND m.digest = t.digest WHERE t.repo = ? AND t.tag = ?";
constexpr const char* kTagsOfManifest =
    "SELECT tag FROM tags WHERE repo = ? AND digest = ? ORDER BY tag";
constexpr const char* kDeleteTagsOfManifest = "DELETE FROM tags WHERE repo = ? AND digest = ?";
constexpr const char* kDeleteManifest = "DELETE FROM manifests WHERE repo = ? AND digest = ?";
constexpr const char* kDeleteTag = "DELETE FROM tags WHERE repo = ? AND tag = ? RETURNING 1";
constexpr const char* kListTags =
    "SELECT tag FROM tags WHERE repo = ? AND tag > ? ORDER BY tag LIMIT ?";
constexpr const char* kCatalog =
    "SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?";
constexpr const char* kReferrers =
    "SELECT media_type, digest, size, artifact_type, annotations FROM manifests "
    "WHERE repo = ?1 AND subject = ?2 AND (?3 IS NULL OR artifact_type = ?3) ORDER BY digest";

constexpr const char* kAddUpload = "INSERT INTO uploads (uuid, repo, created) VALUES (?, ?, ?)";
constexpr const char* kFindUpload = "SELECT uuid, repo, created FROM uploads WHERE uuid = ?";
constexpr const char* kDeleteUpload = "DELETE FROM uploads WHERE uuid = ?";
constexpr const char* kOldUploads =
    "SELECT uuid, repo, created FROM uploads WHERE created < ? ORDER BY created";

// `prefix` is matched with LIKE: its own % and _ are escaped by the caller.
constexpr const char* kUnusedManifests =
    "SELECT m.repo, m.digest FROM manifests m WHERE m.repo LIKE ?1 ESCAPE '\\' AND m.created < ?2 "
    "AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repo = m.repo AND t.digest = m.digest AND t.updated >= ?2) "
    "AND NOT EXISTS (SELECT 1 FROM manifest_refs r WHERE r.repo = m.repo AND r.child = m.digest) "
    "ORDER BY m.repo, m.digest";

constexpr const char* kReferenced =
    "SELECT digest FROM manifests UNION SELECT child FROM manifest_refs";
constexpr const char* kLinkedSince =
    "SELECT DISTINCT digest FROM blob_links WHERE linked_at >= ? ORDER BY digest";
constexpr const char* kBlobInUse =
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM manifests WHERE digest = ?1) "
    "OR EXISTS (SELECT 1 FROM manifest_refs WHERE child = ?1) "
    "OR EXISTS (SELECT 1 FROM blob_links WHERE digest = ?1 AND linked_at >= ?2)";
constexpr const char* kDeleteAllLinks = "DELETE FROM blob_links WHERE digest = ?";

// ---- helpers shared by several operations -----------------------------------

Result<void> ensure_repo(Connection& c, std::string_view repo, std::int64_t now) {
  return Statement(c, kEnsureRepo).bind(repo, now).run();
}

Result<void> link(Connection& c, std::string_view repo, const oci::Digest& digest,
                  std::int64_t now) {
  RETURN_IF_ERROR(ensure_repo(c, repo, now));
  return Statement(c, kUpsertLink).bind(repo, digest, now).run();
}

Result<ManifestInfo> manifest_row(Statement& st, std::string_view what) {
  auto row = st.step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail("MANIFEST_UNKNOWN", "manifest unknown to repository", std::string(what));
  auto digest = digest_column(st, 0);
  if (!digest) return std::unexpected(digest.error());
  ManifestInfo info{*digest, st.text(1), static_cast<std::uint64_t>(st.integer(2)), std::nullopt};
  if (auto subject = st.text(3); !subject.empty()) {
    auto parsed = digest_column(st, 3);
    if (!parsed) return std::unexpected(parsed.error());
    info.subject = *parsed;
  }
  return info;
}

Result<Page> page_of(Statement& st, std::optional<std::size_t> limit) {
  auto items = st.strings();
  if (!items) return std::unexpected(items.error());
  Page page{std::move(*items), false};
  if (limit && page.items.size() > *limit) {
    page.items.resize(*limit);
    page.more = true;
  }
  return page;
}

// LIMIT for a page query: one extra row reveals whether more follow.
std::int64_t limit_plus_one(std::optional<std::size_t> limit) {
  return limit ? static_cast<std::int64_t>(*limit) + 1 : -1;
}

Result<std::vector<UploadRecord>> upload_rows(Statement& st) {
  std::vector<UploadRecord> out;
  for (;;) {
    auto row = st.step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return out;
    out.push_back({st.text(0), st.text(1), from_millis(st.integer(2))});
  }
}

Result<std::unique_ptr<Connection>> connect(const std::filesystem::path& path) {
  auto c = std::make_unique<Connection>();
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &c->db, flags, nullptr) != SQLITE_OK)
    return db_error(c->db, "open " + path.string());
  sqlite3_busy_timeout(c->db, 10000);
  RETURN_IF_ERROR(exec(*c, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"));
  return c;
}

}  // namespace

// ---- pool -------------------------------------------------------------------

struct MetadataStore::Pool {
  std::filesystem::path path;
  std::mutex mutex;
  std::vector<std::unique_ptr<Connection>> idle;

  Result<std::unique_ptr<Connection>> take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    return connect(path);
  }
  void give_back(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mutex);
    idle.push_back(std::move(c));
  }

  // Runs `fn(Connection&)` on a pooled connection.
  template <class Fn>
  auto with(Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
    auto c = take();
    if (!c) return std::unexpected(c.error());
    auto result = fn(**c);
    give_back(std::move(*c));
    return result;
  }

  // Runs `fn(Connection&)` inside BEGIN IMMEDIATE; commits if it succeeds,
  // rolls back otherwise.
  template <class Fn>
  auto transact(Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
    return with([&](Connection& c) -> decltype(fn(c)) {
      RETURN_IF_ERROR(Statement(c, kBegin).run());
      auto result = fn(c);
      if (result) {
        if (auto committed = Statement(c, kCommit).run(); !committed) {
          (void)Statement(c, kRollback).run();
          return std::unexpected(committed.error());
        }
      } else {
        (void)Statement(c, kRollback).run();
      }
      return result;
    });
  }
};

MetadataStore::MetadataStore(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
MetadataStore::~MetadataStore() = default;

Result<std::unique_ptr<MetadataStore>> MetadataStore::open(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return fail("IO", "create directory " + data_dir.string() + ": " + ec.message());
  auto pool = std::make_unique<Pool>();
  pool->path = data_dir / "registry.db";

  // Migrate under a write lock, re-reading the version inside it, so two
  // processes opening a fresh database do not both apply a migration.
  auto migrated = pool->with([](Connection& c) -> Result<void> {
    RETURN_IF_ERROR(exec(c, "BEGIN IMMEDIATE"));
    auto version = [&]() -> Result<std::int64_t> {
      Statement st(c, "PRAGMA user_version");
      auto row = st.step();
      if (!row) return std::unexpected(row.error());
      return st.integer(0);
    }();
    constexpr auto latest = static_cast<std::int64_t>(std::size(kMigrations));
    Result<void> applied;
    if (!version) {
      applied = std::unexpected(version.error());
    } else if (*version > latest) {
      applied = fail("IO", "metadata database is from a newer strata (schema version " +
                               std::to_string(*version) + ")");
    } else {
      for (auto v = *version; v < latest && applied; ++v) {
        applied = exec(c, kMigrations[v]);
        if (applied)
          applied = exec(c, ("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
      }
    }
    if (!applied) {
      (void)exec(c, "ROLLBACK");
      return applied;
    }
    return exec(c, "COMMIT");
  });
  if (!migrated) return std::unexpected(migrated.error());
  return std::unique_ptr<MetadataStore>(new MetadataStore(std::move(pool)));
}

// ---- blob links -------------------------------------------------------------

Result<void> MetadataStore::link_blob(std::string_view repo, const oci::Digest& digest) {
  return pool_->transact([&](Connection& c) { return link(c, repo, digest, now_millis()); });
}

Result<bool> MetadataStore::is_blob_linked(std::string_view repo, const oci::Digest& digest) {
  return pool_->with(
      [&](Connection& c) { return Statement(c, kLinkExists).bind(repo, digest).exists(); });
}

Result<bool> MetadataStore::unlink_blob(std::string_view repo, const oci::Digest& digest) {
  return pool_->with([&](Connection& c) -> Result<bool> {
    RETURN_IF_ERROR(Statement(c, kDeleteLink).bind(repo, digest).run());
    return sqlite3_changes(c.db) > 0;
  });
}

Result<std::vector<std::string>> MetadataStore::repos_with_blob(const oci::Digest& digest) {
  return pool_->with(
      [&](Connection& c) { return Statement(c, kReposWithBlob).bind(digest).strings(); });
}

// ---- manifests and tags -----------------------------------------------------

Result<void> MetadataStore::put_manifest(std::string_view repo, const ManifestRecord& m,
                                         std::optional<std::string_view> tag) {
  return pool_->transact([&](Connection& c) -> Result<void> {
    for (const auto& blob : m.blobs) {
      auto linked = Statement(c, kLinkExists).bind(repo, blob).exists();
      if (!linked) return std::unexpected(linked.error());
      if (!*linked)
        return fail("MANIFEST_BLOB_UNKNOWN", "manifest references a blob unknown to the repository",
                    blob.str());
    }
    for (const auto& child : m.manifests) {
      auto present = Statement(c, kManifestExists).bind(repo, child).exists();
      if (!present) return std::unexpected(present.error());
      if (!*present)
        return fail("MANIFEST_BLOB_UNKNOWN",
                    "index references a manifest unknown to the repository", child.str());
    }
    std::int64_t now = now_millis();
    RETURN_IF_ERROR(link(c, repo, m.digest, now));
    RETURN_IF_ERROR(Statement(c, kUpsertManifest)
                        .bind(repo, m.digest, m.media_type, m.size,
                              Statement::Nullable{m.artifact_type},
                              m.subject ? std::optional(m.subject->str()) : std::nullopt,
                              Statement::Nullable{m.annotations_json}, now)
                        .run());
    RETURN_IF_ERROR(Statement(c, kDeleteRefs).bind(repo, m.digest).run());
    for (const auto* children : {&m.blobs, &m.manifests})
      for (const auto& child : *children)
        RETURN_IF_ERROR(Statement(c, kInsertRef).bind(repo, m.digest, child).run());
    for (const auto& blob : m.blobs) RETURN_IF_ERROR(link(c, repo, blob, now));
    if (tag) RETURN_IF_ERROR(Statement(c, kUpsertTag).bind(repo, *tag, m.digest, now).run());
    return {};
  });
}

Result<ManifestInfo> MetadataStore::get_manifest(std::string_view repo,
                                                 const oci::Digest& digest) {
  return pool_->with([&](Connection& c) {
    Statement st(c, kGetManifest);
    st.bind(repo, digest);
    return manifest_row(st, digest.str());
  });
}

Result<ManifestInfo> MetadataStore::get_tagged_manifest(std::string_view repo,
                                                        std::string_view tag) {
  return pool_->with([&](Connection& c) {
    Statement st(c, kGetTaggedManifest);
    st.bind(repo, tag);
    return manifest_row(st, tag);
  });
}

Result<bool> MetadataStore::manifest_exists(std::string_view repo, const oci::Digest& digest) {
  return pool_->with(
      [&](Connection& c) { return Statement(c, kManifestExists).bind(repo, digest).exists(); });
}

Result<std::vector<std::string>> MetadataStore::delete_manifest(std::string_view repo,
                                                                const oci::Digest& digest) {
  return pool_->transact([&](Connection& c) -> Result<std::vector<std::string>> {
    auto present = Statement(c, kManifestExists).bind(repo, digest).exists();
    if (!present) return std::unexpected(present.error());
    if (!*present)
      return fail("MANIFEST_UNKNOWN", "manifest unknown to repository", digest.str());
    auto tags = Statement(c, kTagsOfManifest).bind(repo, digest).strings();
    if (!tags) return tags;
    for (const char* sql : {kDeleteTagsOfManifest, kDeleteRefs, kDeleteManifest, kDeleteLink})
      RETURN_IF_ERROR(Statement(c, sql).bind(repo, digest).run());
    return tags;
  });
}

Result<void> MetadataStore::delete_tag(std::string_view repo, std::string_view tag) {
  return pool_->with([&](Connection& c) -> Result<void> {
    auto deleted = Statement(c, kDeleteTag).bind(repo, tag).exists();
    if (!deleted) return std::unexpected(deleted.error());
    if (!*deleted) return fail("MANIFEST_UNKNOWN", "tag unknown to repository", std::string(tag));
    return {};
  });
}

Result<Page> MetadataStore::list_tags(std::string_view repo, std::optional<std::size_t> limit,
                                      std::string_view last) {
  return pool_->with([&](Connection& c) -> Result<Page> {
    auto known = Statement(c, kRepoExists).bind(repo).exists();
    if (!known) return std::unexpected(known.error());
    if (!*known)
      return fail("NAME_UNKNOWN", "repository name not known to registry", std::string(repo));
    Statement st(c, kListTags);
    st.bind(repo, last, limit_plus_one(limit));
    return page_of(st, limit);
  });
}

Result<Page> MetadataStore::catalog(std::optional<std::size_t> limit, std::string_view last) {
  return pool_->with([&](Connection& c) {
    Statement st(c, kCatalog);
    st.bind(last, limit_plus_one(limit));
    return page_of(st, limit);
  });
}

Result<bool> MetadataStore::repository_exists(std::string_view repo) {
  return pool_->with([&](Connection& c) { return Statement(c, kRepoExists).bind(repo).exists(); });
}

Result<std::vector<Referrer>> MetadataStore::referrers(
    std::string_view repo, const oci::Digest& subject,
    std::optional<std::string_view> artifact_type) {
  return pool_->with([&](Connection& c) -> Result<std::vector<Referrer>> {
    Statement st(c, kReferrers);
    st.bind(repo, subject, artifact_type);
    return collect_rows<Referrer>(st, [](const Statement& row) -> Result<Referrer> {
      auto digest = digest_column(row, 1);
      if (!digest) return std::unexpected(digest.error());
      return Referrer{row.text(0), *digest, static_cast<std::uint64_t>(row.integer(2)), row.text(3), row.text(4)};
    });
  });
}

// ---- upload sessions --------------------------------------------------------

Result<void> MetadataStore::add_upload(const UploadRecord& upload) {
  return pool_->with([&](Connection& c) {
    return Statement(c, kAddUpload).bind(upload.uuid, upload.repo, to_millis(upload.created)).run();
  });
}

Result<UploadRecord> MetadataStore::find_upload(std::string_view uuid) {
  return pool_->with([&](Connection& c) -> Result<UploadRecord> {
    Statement st(c, kFindUpload);
    st.bind(uuid);
    auto rows = upload_rows(st);
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty())
      return fail("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", std::string(uuid));
    return std::move(rows->front());
  });
}

Result<void> MetadataStore::complete_upload(std::string_view uuid, const oci::Digest& digest) {
  return pool_->transact([&](Connection& c) -> Result<void> {
    Statement st(c, kFindUpload);
    st.bind(uuid);
    auto rows = upload_rows(st);
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty())
      return fail("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", std::string(uuid));
    RETURN_IF_ERROR(Statement(c, kDeleteUpload).bind(uuid).run());
    return link(c, rows->front().repo, digest, now_millis());
  });
}

Result<void> MetadataStore::remove_upload(std::string_view uuid) {
  return pool_->with([&](Connection& c) { return Statement(c, kDeleteUpload).bind(uuid).run(); });
}

Result<std::vector<UploadRecord>> MetadataStore::uploads_created_before(Clock::time_point cutoff) {
  return pool_->with([&](Connection& c) {
    Statement st(c, kOldUploads);
    st.bind(to_millis(cutoff));
    return upload_rows(st);
  });
}

// ---- garbage collection -----------------------------------------------------

Result<std::vector<std::string>> MetadataStore::referenced_digests() {
  return pool_->with([&](Connection& c) { return Statement(c, kReferenced).strings(); });
}

Result<std::vector<std::string>> MetadataStore::digests_linked_since(Clock::time_point since) {
  return pool_->with(
      [&](Connection& c) { return Statement(c, kLinkedSince).bind(to_millis(since)).strings(); });
}

Result<std::vector<std::pair<std::string, oci::Digest>>> MetadataStore::manifests_unused_since(
    std::string_view prefix, Clock::time_point cutoff) {
  std::string pattern;
  for (char c : prefix) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '%';
  return pool_->with([&](Connection& c) -> Result<std::vector<std::pair<std::string, oci::Digest>>> {
    Statement st(c, kUnusedManifests);
    st.bind(pattern, to_millis(cutoff));
    using Entry = std::pair<std::string, oci::Digest>;
    return collect_rows<Entry>(st, [](const Statement& row) -> Result<Entry> {
      auto digest = digest_column(row, 1);
      if (!digest) return std::unexpected(digest.error());
      return Entry{row.text(0), *digest};
    });
  });
}

Result<bool> MetadataStore::release_blob(const oci::Digest& digest,
                                         Clock::time_point linked_before) {
  return pool_->transact([&](Connection& c) -> Result<bool> {
    auto in_use = Statement(c, kBlobInUse).bind(digest, to_millis(linked_before)).exists();
    if (!in_use) return std::unexpected(in_use.error());
    if (*in_use) return false;
    RETURN_IF_ERROR(Statement(c, kDeleteAllLinks).bind(digest).run());
    return true;
  });
}

}  // namespace strata::registry
