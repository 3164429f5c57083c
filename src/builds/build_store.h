// BuildStore: the durable record of every build, in SQLite (WAL) at
// <data-dir>/builds.db, and the queue order. The schema is versioned with
// PRAGMA user_version; opening migrates an older file and refuses a newer one.
//
// Status changes go through transition(), an atomic compare-and-set: it wins
// only if the build's current status is one of `from`, so a cancel and a start
// that race cannot both succeed. The queue is FIFO by creation order.
//
// Thread-safe: one connection serialised by a mutex. Errors: BUILD_UNKNOWN
// (no such build, or not visible to the query's tenant), BUILD_STATUS_CONFLICT
// (a compare-and-set lost: the build is no longer in an expected status),
// TRANSITION_INVALID (a change the status flow forbids: a caller bug),
// PAGINATION_INVALID (bad cursor or limit), DB (SQLite failed or the file
// holds something unreadable).
#pragma once

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builds/build_record.h"
#include "common/error.h"

namespace strata::builds {

struct BuildQuery {
  // nullopt: every build (operator view). A value: only that tenant's builds;
  // "" selects the operator's own builds.
  std::optional<std::string> tenant{};
  std::optional<BuildStatus> status{};
  std::string after{};  // cursor: a build id from a previous page; empty: from the start
  std::size_t limit = 100;
};

inline constexpr std::size_t kMaxBuildListLimit = 1000;

struct BuildPage {
  std::vector<Build> builds{};  // in creation order
  std::string next_after{};     // cursor for the next page; empty on the last page
};

// Applied together with a status change.
struct TransitionDetails {
  std::string error{};                // recorded as the build's error when not empty
  std::optional<BuildToken> token{};  // the registry token minted for this run
};

class BuildStore {
 public:
  static Result<std::unique_ptr<BuildStore>> open(const std::filesystem::path& data_dir);
  ~BuildStore();
  BuildStore(const BuildStore&) = delete;
  BuildStore& operator=(const BuildStore&) = delete;

  // Records a new queued build with a fresh random id, created now, attempt 1.
  Result<Build> insert(std::string_view tenant, std::string_view principal, BuildRequest request);

  Result<Build> get(std::string_view id);

  Result<BuildPage> list(const BuildQuery& query);

  // Moves the build to `to` if its status is in `from`, and returns it as
  // stored afterwards. Sets started_at on a move to building and finished_at
  // on a move to a final status. Every from->to pair must be allowed by
  // is_allowed_transition().
  Result<Build> transition(std::string_view id, std::initializer_list<BuildStatus> from,
                           BuildStatus to, const TransitionDetails& details = {});

  // Records what the build produced. Refused (BUILD_STATUS_CONFLICT) once the
  // build is final, so a result cannot land on a cancelled build; the manager
  // sets it before the move to ready.
  Result<Build> set_result(std::string_view id, BuildResult result);

  // The oldest queued build, if any. It is not claimed: start it with
  // transition(id, {queued}, building) and look again if that loses.
  Result<std::optional<Build>> next_queued();

  // 1-based position among queued builds (1 runs next); nullopt if the build
  // is not queued.
  Result<std::optional<std::size_t>> queue_position(std::string_view id);

  // Run once at server start, before any build starts: builds left building
  // or pushing by the previous process become failed with error
  // "interrupted by server restart" — or, with retry_once, go back to queued
  // as attempt 2 if they were on attempt 1. Queued builds are untouched.
  // Returns the changed builds as now stored; their token is the interrupted
  // run's, for revocation.
  Result<std::vector<Build>> recover(bool retry_once);

 private:
  struct Database;
  explicit BuildStore(std::unique_ptr<Database> db);
  std::unique_ptr<Database> db_;
};

}  // namespace strata::builds
