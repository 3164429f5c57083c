#include "builds/build_store.h"

#include <openssl/rand.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <variant>

namespace strata::builds {
namespace {

using nlohmann::json;

// ---- schema -----------------------------------------------------------------

// Migration i moves the file from user_version i to i + 1. Status, tenant and
// creation order are columns because queries filter and sort on them; the
// rest of a build (nested request and result) is one JSON record, read and
// written whole.
constexpr std::array<const char*, 1> kMigrations = {R"sql(
CREATE TABLE builds (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX builds_by_status ON builds(status, seq);
CREATE INDEX builds_by_tenant ON builds(tenant, seq);
)sql"};

constexpr const char* kInterruptedError = "interrupted by server restart";

// ---- ids --------------------------------------------------------------------

Result<std::string> new_build_id() {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
  std::array<unsigned char, 13> random{};  // 104 bits; 100 are used
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
    return fail("INTERNAL", "no randomness available for a build id");
  std::string id = "b";
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char byte : random) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && id.size() < kBuildIdLength) {
      bits -= 5;
      id += kAlphabet[(buffer >> bits) & 31];
    }
  }
  return id;
}

// ---- the JSON record ----------------------------------------------------------

json timestamp_json(const std::optional<Timestamp>& t) {
  return t ? json(t->time_since_epoch().count()) : json(nullptr);
}

std::optional<Timestamp> timestamp_from(const json& j) {
  if (j.is_null()) return std::nullopt;
  return Timestamp(std::chrono::milliseconds(j.get<std::int64_t>()));
}

// Only called while decoding, whose caller turns any exception into a DB error.
oci::Digest digest_from(const json& j) {
  auto digest = oci::Digest::parse(j.get<std::string>());
  if (!digest) throw std::invalid_argument(digest.error().message);
  return *digest;
}

json request_json(const BuildRequest& r) {
  json secrets = json::array();
  for (const auto& s : r.secrets) secrets.push_back({{"id", s.id}, {"env_var", s.env_var}});
  return {{"source_digest", r.source_digest.str()},
          {"source_size", r.source_size},
          {"dockerfile_digest", r.dockerfile_digest ? json(r.dockerfile_digest->str()) : json(nullptr)},
          {"dockerfile_path", r.dockerfile_path},
          {"cache_scope", r.cache_scope},
          {"global_cache_key", r.global_cache_key},
          {"is_admin_build", r.is_admin_build},
          {"build_args", r.build_args},
          {"target", r.target},
          {"secrets", secrets},
          {"timeout_seconds", r.timeout.count()},
          {"network_mode", network_mode_name(r.network_mode)}};
}

BuildRequest request_from(const json& j) {
  BuildRequest r{.source_digest = digest_from(j.at("source_digest"))};
  r.source_size = j.at("source_size").get<std::uint64_t>();
  if (!j.at("dockerfile_digest").is_null()) r.dockerfile_digest = digest_from(j.at("dockerfile_digest"));
  r.dockerfile_path = j.at("dockerfile_path").get<std::string>();
  r.cache_scope = j.at("cache_scope").get<std::string>();
  r.global_cache_key = j.at("global_cache_key").get<std::string>();
  r.is_admin_build = j.at("is_admin_build").get<bool>();
  r.build_args = j.at("build_args").get<std::map<std::string, std::string>>();
  r.target = j.at("target").get<std::string>();
  for (const auto& s : j.at("secrets"))
    r.secrets.push_back({s.at("id").get<std::string>(), s.at("env_var").get<std::string>()});
  r.timeout = std::chrono::seconds(j.at("timeout_seconds").get<std::int64_t>());
  auto mode = parse_network_mode(j.at("network_mode").get<std::string>());
  if (!mode) throw std::invalid_argument("unknown network mode");
  r.network_mode = *mode;
  return r;
}

json result_json(const BuildResult& r) {
  json layers = json::array();
  for (const auto& d : r.layer_digests) layers.push_back(d.str());
  json bases = json::array();
  for (const auto& b : r.base_images) bases.push_back({{"reference", b.reference}, {"digest", b.digest.str()}});
  json steps = json::array();
  for (const auto& s : r.steps)
    steps.push_back({{"instruction", s.instruction},
                     {"outcome", cache_outcome_name(s.outcome)},
                     {"duration_ms", s.duration.count()}});
  return {{"manifest_digest", r.manifest_digest.str()},
          {"config_digest", r.config_digest.str()},
          {"image_reference", r.image_reference},
          {"layer_digests", layers},
          {"base_images", bases},
          {"engine_version", r.engine_version},
          {"steps", steps}};
}

BuildResult result_from(const json& j) {
  BuildResult r{.manifest_digest = digest_from(j.at("manifest_digest")),
                .config_digest = digest_from(j.at("config_digest"))};
  r.image_reference = j.at("image_reference").get<std::string>();
  for (const auto& d : j.at("layer_digests")) r.layer_digests.push_back(digest_from(d));
  for (const auto& b : j.at("base_images"))
    r.base_images.push_back({b.at("reference").get<std::string>(), digest_from(b.at("digest"))});
  r.engine_version = j.at("engine_version").get<std::string>();
  for (const auto& s : j.at("steps")) {
    auto outcome = parse_cache_outcome(s.at("outcome").get<std::string>());
    if (!outcome) throw std::invalid_argument("unknown cache outcome");
    r.steps.push_back({s.at("instruction").get<std::string>(), *outcome,
                       std::chrono::milliseconds(s.at("duration_ms").get<std::int64_t>())});
  }
  return r;
}

// Everything but the columns (id, tenant, status).
std::string record_text(const Build& b) {
  json token = b.token ? json{{"jti", b.token->jti},
                              {"expires_at", b.token->expires_at.time_since_epoch().count()}}
                       : json(nullptr);
  json record = {{"principal", b.principal},
                 {"request", request_json(b.request)},
                 {"created_at", b.created_at.time_since_epoch().count()},
                 {"started_at", timestamp_json(b.started_at)},
                 {"finished_at", timestamp_json(b.finished_at)},
                 {"error", b.error},
                 {"result", b.result ? result_json(*b.result) : json(nullptr)},
                 {"token", token},
                 {"attempt", b.attempt}};
  return record.dump();
}

Result<Build> decode_build(const std::string& id, const std::string& tenant, std::string_view status_text,
                           std::string_view record_text) {
  auto status = parse_build_status(status_text);
  if (!status) return fail("DB", "builds.db holds an unknown status for build " + id, std::string(status_text));
  try {
    json j = json::parse(record_text);
    Build b{.id = id,
            .tenant = tenant,
            .principal = j.at("principal").get<std::string>(),
            .status = *status,
            .request = request_from(j.at("request")),
            .created_at = *timestamp_from(j.at("created_at")),
            .started_at = timestamp_from(j.at("started_at")),
            .finished_at = timestamp_from(j.at("finished_at")),
            .error = j.at("error").get<std::string>(),
            .attempt = j.at("attempt").get<int>()};
    if (!j.at("result").is_null()) b.result = result_from(j.at("result"));
    if (const auto& t = j.at("token"); !t.is_null())
      b.token = BuildToken{t.at("jti").get<std::string>(), *timestamp_from(t.at("expires_at"))};
    return b;
  } catch (const std::exception& e) {
    return fail("DB", "builds.db holds an unreadable record for build " + id, e.what());
  }
}

// ---- SQLite -------------------------------------------------------------------

using Param = std::variant<std::int64_t, std::string_view>;

constexpr std::string_view kSelectBuild = "SELECT id, tenant, status, record FROM builds ";

// One result row, valid only inside the callback that receives it.
class Row {
 public:
  explicit Row(sqlite3_stmt* stmt) : stmt_(stmt) {}
  std::string text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  // For rows selected with kSelectBuild.
  Result<Build> build() const { return decode_build(text(0), text(1), text(2), text(3)); }

 private:
  sqlite3_stmt* stmt_;
};

using RowHandler = std::function<Result<void>(const Row&)>;

}  // namespace

struct BuildStore::Database {
  sqlite3* db = nullptr;
  // Serialises use of the connection and makes each public operation atomic
  // within the process; BEGIN IMMEDIATE does the same against other processes.
  std::mutex mutex;

  ~Database() { sqlite3_close_v2(db); }

  std::unexpected<Error> error(std::string_view what) const {
    return fail("DB", "builds database: " + std::string(what) + ": " + sqlite3_errmsg(db));
  }

  Result<void> exec(const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return error(sql);
    return {};
  }

  Result<void> query(std::string_view sql, const std::vector<Param>& params, const RowHandler& on_row = {}) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK)
      return error("prepare");
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    for (int i = 0; i < static_cast<int>(params.size()); ++i) {
      if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
        sqlite3_bind_int64(raw, i + 1, *n);
      } else {
        auto text = std::get<std::string_view>(params[i]);
        // A null data() would bind SQL NULL; an empty view still means ''.
        sqlite3_bind_text(raw, i + 1, text.data() ? text.data() : "", static_cast<int>(text.size()),
                          SQLITE_TRANSIENT);
      }
    }
    for (;;) {
      int rc = sqlite3_step(raw);
      if (rc == SQLITE_DONE) return {};
      if (rc != SQLITE_ROW) return error("query");
      if (!on_row) continue;
      if (auto ok = on_row(Row(raw)); !ok) return ok;
    }
  }

  Result<std::vector<Build>> builds(std::string_view where, const std::vector<Param>& params) {
    std::vector<Build> out;
    auto ok = query(std::string(kSelectBuild) + std::string(where), params, [&](const Row& row) -> Result<void> {
      auto build = row.build();
      if (!build) return std::unexpected(build.error());
      out.push_back(std::move(*build));
      return {};
    });
    if (!ok) return std::unexpected(ok.error());
    return out;
  }

  Result<Build> load(std::string_view id) {
    auto found = builds("WHERE id = ?", {id});
    if (!found) return std::unexpected(found.error());
    if (found->empty()) return fail("BUILD_UNKNOWN", "no build " + std::string(id));
    return std::move(found->front());
  }

  // Writes a changed build back, provided its stored status is still `was`.
  Result<void> save(const Build& build, BuildStatus was) {
    auto ok = query("UPDATE builds SET status = ?, record = ? WHERE id = ? AND status = ?",
                    {status_name(build.status), record_text(build), build.id, status_name(was)});
    if (!ok) return ok;
    if (sqlite3_changes(db) != 1)
      return fail("BUILD_STATUS_CONFLICT", "build " + build.id + " changed status concurrently");
    return {};
  }

  template <class T>
  Result<T> transaction(const std::function<Result<T>()>& body) {
    if (auto ok = exec("BEGIN IMMEDIATE"); !ok) return std::unexpected(ok.error());
    auto out = body();
    if (out) {
      if (auto ok = exec("COMMIT"); ok) return out;
      else out = std::unexpected(ok.error());
    }
    (void)exec("ROLLBACK");
    return out;
  }

  // Reads a build, lets `change` edit it or refuse, and writes it back, all
  // in one transaction.
  Result<Build> modify(std::string_view id, const std::function<Result<void>(Build&)>& change) {
    return transaction<Build>([&]() -> Result<Build> {
      auto build = load(id);
      if (!build) return build;
      BuildStatus was = build->status;
      if (auto ok = change(*build); !ok) return std::unexpected(ok.error());
      if (auto ok = save(*build, was); !ok) return std::unexpected(ok.error());
      return build;
    });
  }

  Result<void> migrate() {
    std::int64_t version = 0;
    auto ok = query("PRAGMA user_version", {}, [&](const Row& row) -> Result<void> {
      version = row.integer(0);
      return {};
    });
    if (!ok) return ok;
    const auto latest = static_cast<std::int64_t>(kMigrations.size());
    if (version > latest)
      return fail("DB", "builds.db has schema version " + std::to_string(version) +
                            ", newer than this strata understands (" + std::to_string(latest) + ")");
    for (; version < latest; ++version) {
      auto step = transaction<bool>([&]() -> Result<bool> {
        if (auto ok = exec(kMigrations[version]); !ok) return std::unexpected(ok.error());
        std::string bump = "PRAGMA user_version = " + std::to_string(version + 1);
        if (auto ok = exec(bump.c_str()); !ok) return std::unexpected(ok.error());
        return true;
      });
      if (!step) return std::unexpected(step.error());
    }
    return {};
  }
};

Result<std::unique_ptr<BuildStore>> BuildStore::open(const std::filesystem::path& data_dir) {
  auto db = std::make_unique<Database>();
  auto path = data_dir / "builds.db";
  if (sqlite3_open_v2(path.c_str(), &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return db->error("cannot open " + path.string());
  sqlite3_busy_timeout(db->db, 10000);
  if (auto ok = db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !ok)
    return std::unexpected(ok.error());
  if (auto ok = db->migrate(); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<BuildStore>(new BuildStore(std::move(db)));
}

BuildStore::BuildStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}
BuildStore::~BuildStore() = default;

Result<Build> BuildStore::insert(std::string_view tenant, std::string_view principal, BuildRequest request) {
  auto id = new_build_id();
  if (!id) return std::unexpected(id.error());
  Build build{.id = *id,
              .tenant = std::string(tenant),
              .principal = std::string(principal),
              .status = BuildStatus::queued,
              .request = std::move(request),
              .created_at = now_timestamp()};
  std::lock_guard lock(db_->mutex);
  auto ok = db_->query("INSERT INTO builds (id, tenant, status, record) VALUES (?, ?, ?, ?)",
                       {build.id, build.tenant, status_name(build.status), record_text(build)});
  if (!ok) return std::unexpected(ok.error());
  return build;
}

Result<Build> BuildStore::get(std::string_view id) {
  std::lock_guard lock(db_->mutex);
  return db_->load(id);
}

Result<BuildPage> BuildStore::list(const BuildQuery& query) {
  if (query.limit < 1 || query.limit > kMaxBuildListLimit)
    return fail("PAGINATION_INVALID", "limit must be between 1 and " + std::to_string(kMaxBuildListLimit));
  std::string tenant_clause = query.tenant ? " AND tenant = ?" : "";
  std::lock_guard lock(db_->mutex);

  std::int64_t after_seq = 0;
  if (!query.after.empty()) {
    // The cursor is looked up under the same tenant filter, so a tenant
    // cannot page from, or learn of, another tenant's build.
    std::vector<Param> params{query.after};
    if (query.tenant) params.emplace_back(*query.tenant);
    bool found = false;
    auto ok = db_->query("SELECT seq FROM builds WHERE id = ?" + tenant_clause, params,
                         [&](const Row& row) -> Result<void> {
                           after_seq = row.integer(0);
                           found = true;
                           return {};
                         });
    if (!ok) return std::unexpected(ok.error());
    if (!found) return fail("PAGINATION_INVALID", "unknown cursor " + query.after);
  }

  std::vector<Param> params{after_seq};
  if (query.tenant) params.emplace_back(*query.tenant);
  std::string where = "WHERE seq > ?" + tenant_clause;
  if (query.status) {
    where += " AND status = ?";
    params.emplace_back(status_name(*query.status));
  }
  // One row more than asked tells whether another page follows.
  where += " ORDER BY seq LIMIT ?";
  params.emplace_back(static_cast<std::int64_t>(query.limit + 1));
  auto builds = db_->builds(where, params);
  if (!builds) return std::unexpected(builds.error());

  BuildPage page{.builds = std::move(*builds)};
  if (page.builds.size() > query.limit) {
    page.builds.pop_back();
    page.next_after = page.builds.back().id;
  }
  return page;
}

Result<Build> BuildStore::transition(std::string_view id, std::initializer_list<BuildStatus> from,
                                     BuildStatus to, const TransitionDetails& details) {
  for (BuildStatus status : from)
    if (!is_allowed_transition(status, to))
      return fail("TRANSITION_INVALID", "a build cannot go from " + std::string(status_name(status)) + " to " +
                                            std::string(status_name(to)));
  std::lock_guard lock(db_->mutex);
  return db_->modify(id, [&](Build& build) -> Result<void> {
    if (std::ranges::find(from, build.status) == from.end())
      return fail("BUILD_STATUS_CONFLICT", "build " + build.id + " is " + std::string(status_name(build.status)));
    build.status = to;
    auto now = now_timestamp();
    if (to == BuildStatus::building) build.started_at = now;
    if (is_final(to)) build.finished_at = now;
    if (!details.error.empty()) build.error = details.error;
    if (details.token) build.token = details.token;
    return {};
  });
}

Result<Build> BuildStore::set_result(std::string_view id, BuildResult result) {
  std::lock_guard lock(db_->mutex);
  return db_->modify(id, [&](Build& build) -> Result<void> {
    if (is_final(build.status))
      return fail("BUILD_STATUS_CONFLICT", "build " + build.id + " is already " +
                                               std::string(status_name(build.status)));
    build.result = std::move(result);
    return {};
  });
}

Result<std::optional<Build>> BuildStore::next_queued() {
  std::lock_guard lock(db_->mutex);
  auto oldest = db_->builds("WHERE status = ? ORDER BY seq LIMIT 1", {status_name(BuildStatus::queued)});
  if (!oldest) return std::unexpected(oldest.error());
  if (oldest->empty()) return std::nullopt;
  return std::move(oldest->front());
}

Result<std::optional<std::size_t>> BuildStore::queue_position(std::string_view id) {
  std::lock_guard lock(db_->mutex);
  std::optional<std::int64_t> seq;
  bool known = false;
  auto ok = db_->query("SELECT seq, status FROM builds WHERE id = ?", {id}, [&](const Row& row) -> Result<void> {
    known = true;
    if (row.text(1) == status_name(BuildStatus::queued)) seq = row.integer(0);
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  if (!known) return fail("BUILD_UNKNOWN", "no build " + std::string(id));
  if (!seq) return std::nullopt;
  std::size_t position = 0;
  ok = db_->query("SELECT COUNT(*) FROM builds WHERE status = ? AND seq <= ?",
                  {status_name(BuildStatus::queued), *seq}, [&](const Row& row) -> Result<void> {
                    position = static_cast<std::size_t>(row.integer(0));
                    return {};
                  });
  if (!ok) return std::unexpected(ok.error());
  return position;
}

Result<std::vector<Build>> BuildStore::recover(bool retry_once) {
  std::lock_guard lock(db_->mutex);
  return db_->transaction<std::vector<Build>>([&]() -> Result<std::vector<Build>> {
    auto interrupted = db_->builds("WHERE status IN (?, ?) ORDER BY seq",
                                   {status_name(BuildStatus::building), status_name(BuildStatus::pushing)});
    if (!interrupted) return interrupted;
    auto now = now_timestamp();
    for (Build& build : *interrupted) {
      BuildStatus was = build.status;
      if (retry_once && build.attempt == 1) {
        build.status = BuildStatus::queued;
        build.attempt = 2;
        build.started_at.reset();
      } else {
        build.status = BuildStatus::failed;
        build.error = kInterruptedError;
        build.finished_at = now;
      }
      if (auto ok = db_->save(build, was); !ok) return std::unexpected(ok.error());
    }
    return interrupted;
  });
}

}  // namespace strata::builds
