#include "builds/build_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <latch>
#include <set>
#include <thread>

#include "support/temp_dir.h"

namespace strata::builds {
namespace {

using namespace std::chrono_literals;

oci::Digest digest_of(std::string_view text) { return oci::Digest::of(oci::DigestAlgorithm::sha256, text); }

BuildRequest sample_request() {
  return BuildRequest{.source_digest = digest_of("context.tar"),
                      .source_size = 10240,
                      .dockerfile_digest = digest_of("FROM busybox"),
                      .dockerfile_path = "docker/Dockerfile",
                      .cache_scope = "acme",
                      .global_cache_key = "node",
                      .build_args = {{"NODE_ENV", "production"}, {"VERSION", "1.2"}},
                      .target = "runtime",
                      .secrets = {{"npmrc", "NPM_TOKEN"}, {"sshkey", ""}},
                      .timeout = 600s,
                      .network_mode = NetworkMode::egress};
}

BuildResult sample_result(const std::string& id) {
  return BuildResult{.manifest_digest = digest_of("manifest"),
                     .config_digest = digest_of("config"),
                     .image_reference = "127.0.0.1:8083/builds/" + id + "@" + digest_of("manifest").str(),
                     .layer_digests = {digest_of("layer1"), digest_of("layer2")},
                     .base_images = {{"127.0.0.1:8083/base/node:20", digest_of("base")}},
                     .engine_version = "strata 0.1.0",
                     .steps = {{"FROM node:20", CacheOutcome::hit_global, 3ms},
                               {"COPY . /app", CacheOutcome::hit_tenant, 5ms},
                               {"RUN npm ci", CacheOutcome::miss, 1200ms}}};
}

class BuildStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_store(); }

  std::unique_ptr<BuildStore> open_store() {
    auto store = BuildStore::open(dir_.path());
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  Build insert(std::string_view tenant = "acme") {
    auto build = store_->insert(tenant, "key-1", sample_request());
    EXPECT_TRUE(build) << build.error().message;
    return *build;
  }

  BuildStatus status_of(const std::string& id) { return store_->get(id)->status; }

  testing::TempDir dir_;
  std::unique_ptr<BuildStore> store_;
};

TEST(BuildStatusFlow, AllowsOnlyTheDocumentedTransitions) {
  using enum BuildStatus;
  EXPECT_TRUE(is_allowed_transition(queued, building));
  EXPECT_TRUE(is_allowed_transition(building, pushing));
  EXPECT_TRUE(is_allowed_transition(pushing, ready));
  for (BuildStatus from : {queued, building, pushing}) {
    EXPECT_TRUE(is_allowed_transition(from, failed));
    EXPECT_TRUE(is_allowed_transition(from, cancelled));
  }
  EXPECT_FALSE(is_allowed_transition(queued, pushing));
  EXPECT_FALSE(is_allowed_transition(queued, ready));
  EXPECT_FALSE(is_allowed_transition(building, ready));
  EXPECT_FALSE(is_allowed_transition(building, queued));
  EXPECT_FALSE(is_allowed_transition(pushing, building));
  for (BuildStatus from : {ready, failed, cancelled})
    for (BuildStatus to : kAllBuildStatuses) EXPECT_FALSE(is_allowed_transition(from, to));
}

TEST(BuildStatusFlow, NamesRoundTrip) {
  for (BuildStatus status : kAllBuildStatuses) EXPECT_EQ(parse_build_status(status_name(status)), status);
  EXPECT_EQ(parse_build_status("done"), std::nullopt);
}

TEST(BuildCacheReport, TotalsCountOutcomesAndDurations) {
  auto totals = cache_totals(sample_result("b").steps);
  EXPECT_EQ(totals, (CacheTotals{.hit_tenant = 1, .hit_global = 1, .miss = 1, .duration = 1208ms}));
}

TEST_F(BuildStoreTest, InsertedBuildIsQueuedWithAFreshUrlSafeId) {
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    Build build = insert();
    EXPECT_TRUE(is_valid_build_id(build.id)) << build.id;
    EXPECT_EQ(build.status, BuildStatus::queued);
    EXPECT_EQ(build.attempt, 1);
    EXPECT_EQ(build.principal, "key-1");
    ids.insert(build.id);
  }
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(BuildStoreTest, EveryFieldSurvivesAReopen) {
  Build build = insert();
  BuildToken token{.jti = "jti-1", .expires_at = now_timestamp() + 1h};
  ASSERT_TRUE(store_->transition(build.id, {BuildStatus::queued}, BuildStatus::building, {.token = token}));
  ASSERT_TRUE(store_->transition(build.id, {BuildStatus::building}, BuildStatus::pushing));
  ASSERT_TRUE(store_->set_result(build.id, sample_result(build.id)));
  auto ready = store_->transition(build.id, {BuildStatus::pushing}, BuildStatus::ready);
  ASSERT_TRUE(ready) << ready.error().message;

  store_.reset();
  store_ = open_store();
  auto reread = store_->get(build.id);
  ASSERT_TRUE(reread) << reread.error().message;
  EXPECT_EQ(*reread, *ready);
  EXPECT_EQ(reread->request, sample_request());
  EXPECT_EQ(reread->result, sample_result(build.id));
  EXPECT_EQ(reread->token, token);
}

TEST_F(BuildStoreTest, TransitionStampsStartAndFinishTimes) {
  Build build = insert();
  auto started = store_->transition(build.id, {BuildStatus::queued}, BuildStatus::building);
  ASSERT_TRUE(started);
  ASSERT_TRUE(started->started_at);
  EXPECT_GE(*started->started_at, build.created_at);
  EXPECT_FALSE(started->finished_at);

  auto failed = store_->transition(build.id, {BuildStatus::building, BuildStatus::pushing}, BuildStatus::failed,
                                   {.error = "timeout after 600s"});
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->error, "timeout after 600s");
  ASSERT_TRUE(failed->finished_at);
  EXPECT_GE(*failed->finished_at, *started->started_at);
}

TEST_F(BuildStoreTest, TransitionFromAnUnexpectedStatusLosesAndChangesNothing) {
  Build build = insert();
  auto lost = store_->transition(build.id, {BuildStatus::building}, BuildStatus::pushing);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, "BUILD_STATUS_CONFLICT");
  EXPECT_EQ(*store_->get(build.id), build);
}

TEST_F(BuildStoreTest, TransitionOutsideTheStatusFlowIsRefused) {
  Build build = insert();
  auto refused = store_->transition(build.id, {BuildStatus::queued}, BuildStatus::ready);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "TRANSITION_INVALID");
  EXPECT_EQ(status_of(build.id), BuildStatus::queued);
}

TEST_F(BuildStoreTest, FinalBuildTakesNoFurtherChange) {
  Build build = insert();
  ASSERT_TRUE(store_->transition(build.id, {BuildStatus::queued}, BuildStatus::cancelled));
  auto again = store_->transition(build.id, {BuildStatus::queued, BuildStatus::building}, BuildStatus::failed);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "BUILD_STATUS_CONFLICT");
  auto result = store_->set_result(build.id, sample_result(build.id));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "BUILD_STATUS_CONFLICT");
  EXPECT_FALSE(store_->get(build.id)->result);
}

TEST_F(BuildStoreTest, UnknownBuildIsReported) {
  EXPECT_EQ(store_->get("baaaaaaaaaaaaaaaaaaaa").error().code, "BUILD_UNKNOWN");
  EXPECT_EQ(store_->queue_position("baaaaaaaaaaaaaaaaaaaa").error().code, "BUILD_UNKNOWN");
  EXPECT_EQ(store_->transition("baaaaaaaaaaaaaaaaaaaa", {BuildStatus::queued}, BuildStatus::building).error().code,
            "BUILD_UNKNOWN");
}

TEST_F(BuildStoreTest, RacingStartAndCancelHaveExactlyOneWinner) {
  for (int round = 0; round < 30; ++round) {
    Build build = insert();
    std::latch go(2);
    std::atomic<int> wins = 0;
    std::atomic<int> conflicts = 0;
    auto attempt = [&](BuildStatus to) {
      go.arrive_and_wait();
      auto moved = store_->transition(build.id, {BuildStatus::queued}, to);
      if (moved) ++wins;
      else if (moved.error().code == "BUILD_STATUS_CONFLICT") ++conflicts;
    };
    std::thread start(attempt, BuildStatus::building);
    std::thread cancel(attempt, BuildStatus::cancelled);
    start.join();
    cancel.join();
    EXPECT_EQ(wins, 1);
    EXPECT_EQ(conflicts, 1);
    EXPECT_NE(status_of(build.id), BuildStatus::queued);
  }
}

TEST_F(BuildStoreTest, QueueIsFirstInFirstOutWithPositions) {
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(insert(i % 2 ? "acme" : "beta").id);
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(*store_->queue_position(ids[i]), i + 1);

  // Two workers take the two oldest builds.
  for (int worker = 0; worker < 2; ++worker) {
    auto next = store_->next_queued();
    ASSERT_TRUE(next && *next);
    EXPECT_EQ((*next)->id, ids[worker]);
    ASSERT_TRUE(store_->transition((*next)->id, {BuildStatus::queued}, BuildStatus::building));
  }
  EXPECT_EQ(*store_->queue_position(ids[0]), std::nullopt);
  EXPECT_EQ(*store_->queue_position(ids[1]), std::nullopt);
  for (std::size_t i = 2; i < ids.size(); ++i) EXPECT_EQ(*store_->queue_position(ids[i]), i - 1);

  // A cancelled build leaves the queue; those behind it move up.
  ASSERT_TRUE(store_->transition(ids[4], {BuildStatus::queued}, BuildStatus::cancelled));
  EXPECT_EQ(*store_->queue_position(ids[3]), 2u);
  EXPECT_EQ(*store_->queue_position(ids[4]), std::nullopt);
  EXPECT_EQ(*store_->queue_position(ids[5]), 3u);
  EXPECT_EQ(*store_->queue_position(ids[7]), 5u);

  std::vector<std::string> started;
  while (auto next = *store_->next_queued()) {
    ASSERT_TRUE(store_->transition(next->id, {BuildStatus::queued}, BuildStatus::building));
    started.push_back(next->id);
  }
  EXPECT_EQ(started, (std::vector<std::string>{ids[2], ids[3], ids[5], ids[6], ids[7]}));
}

TEST_F(BuildStoreTest, ListShowsATenantOnlyItsOwnBuilds) {
  std::vector<std::string> acme, beta, operator_builds;
  for (int i = 0; i < 3; ++i) {
    acme.push_back(insert("acme").id);
    beta.push_back(insert("beta").id);
    operator_builds.push_back(insert("").id);
  }
  auto ids = [&](const BuildQuery& query) {
    auto page = store_->list(query);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> out;
    for (const auto& b : page->builds) out.push_back(b.id);
    return out;
  };
  EXPECT_EQ(ids({.tenant = "acme"}), acme);
  EXPECT_EQ(ids({.tenant = "beta"}), beta);
  EXPECT_EQ(ids({.tenant = ""}), operator_builds);
  EXPECT_EQ(ids({}).size(), 9u);
  EXPECT_TRUE(ids({.tenant = "nobody"}).empty());

  ASSERT_TRUE(store_->transition(acme[1], {BuildStatus::queued}, BuildStatus::cancelled));
  ASSERT_TRUE(store_->transition(beta[0], {BuildStatus::queued}, BuildStatus::cancelled));
  EXPECT_EQ(ids({.tenant = "acme", .status = BuildStatus::cancelled}), std::vector<std::string>{acme[1]});
  EXPECT_EQ(ids({.tenant = "acme", .status = BuildStatus::queued}), (std::vector<std::string>{acme[0], acme[2]}));
  EXPECT_EQ(ids({.status = BuildStatus::cancelled}), (std::vector<std::string>{beta[0], acme[1]}));
}

TEST_F(BuildStoreTest, ListPagesThroughEveryBuildOnceInCreationOrder) {
  std::vector<std::string> all;
  for (int i = 0; i < 7; ++i) all.push_back(insert("acme").id);
  insert("beta");

  std::vector<std::string> seen;
  std::vector<std::size_t> page_sizes;
  BuildQuery query{.tenant = "acme", .limit = 3};
  for (;;) {
    auto page = store_->list(query);
    ASSERT_TRUE(page) << page.error().message;
    page_sizes.push_back(page->builds.size());
    for (const auto& b : page->builds) seen.push_back(b.id);
    if (page->next_after.empty()) break;
    EXPECT_EQ(page->next_after, seen.back());
    query.after = page->next_after;
  }
  EXPECT_EQ(seen, all);
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{3, 3, 1}));
}

TEST_F(BuildStoreTest, ListRefusesAForeignCursorAndABadLimit) {
  Build acme = insert("acme");
  Build beta = insert("beta");
  auto foreign = store_->list({.tenant = "acme", .after = beta.id});
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, "PAGINATION_INVALID");
  EXPECT_TRUE(store_->list({.after = beta.id}));  // the operator sees every build
  EXPECT_EQ(store_->list({.tenant = "acme", .limit = 0}).error().code, "PAGINATION_INVALID");
  EXPECT_EQ(store_->list({.limit = kMaxBuildListLimit + 1}).error().code, "PAGINATION_INVALID");
  EXPECT_EQ(store_->list({.tenant = "acme", .after = acme.id})->builds.size(), 0u);
}

TEST_F(BuildStoreTest, RecoveryFailsBuildsInterruptedMidRun) {
  Build queued = insert();
  Build building = insert();
  Build pushing = insert();
  Build ready = insert();
  ASSERT_TRUE(store_->transition(building.id, {BuildStatus::queued}, BuildStatus::building));
  for (const auto& id : {pushing.id, ready.id}) {
    ASSERT_TRUE(store_->transition(id, {BuildStatus::queued}, BuildStatus::building));
    ASSERT_TRUE(store_->transition(id, {BuildStatus::building}, BuildStatus::pushing));
  }
  ASSERT_TRUE(store_->transition(ready.id, {BuildStatus::pushing}, BuildStatus::ready));

  store_.reset();  // the server stops mid-build
  store_ = open_store();
  auto changed = store_->recover(/*retry_once=*/false);
  ASSERT_TRUE(changed) << changed.error().message;
  ASSERT_EQ(changed->size(), 2u);
  EXPECT_EQ((*changed)[0].id, building.id);
  EXPECT_EQ((*changed)[1].id, pushing.id);
  for (const auto& b : *changed) {
    EXPECT_EQ(b.status, BuildStatus::failed);
    EXPECT_EQ(b.error, "interrupted by server restart");
    EXPECT_TRUE(b.finished_at);
    EXPECT_EQ(*store_->get(b.id), b);
  }
  EXPECT_EQ(status_of(queued.id), BuildStatus::queued);
  EXPECT_EQ(*store_->queue_position(queued.id), 1u);
  EXPECT_EQ(status_of(ready.id), BuildStatus::ready);
  EXPECT_TRUE(store_->recover(false)->empty());
}

TEST_F(BuildStoreTest, RecoveryWithRetryRequeuesAFirstAttemptOnce) {
  Build early = insert();
  Build late = insert();
  BuildToken token{.jti = "jti-run-1", .expires_at = now_timestamp() + 1h};
  ASSERT_TRUE(store_->transition(early.id, {BuildStatus::queued}, BuildStatus::building, {.token = token}));

  auto retried = store_->recover(/*retry_once=*/true);
  ASSERT_TRUE(retried);
  ASSERT_EQ(retried->size(), 1u);
  const Build& again = retried->front();
  EXPECT_EQ(again.status, BuildStatus::queued);
  EXPECT_EQ(again.attempt, 2);
  EXPECT_TRUE(again.error.empty());
  EXPECT_FALSE(again.started_at);
  EXPECT_EQ(again.token, token);  // still known, so the interrupted run's token can be revoked
  // It keeps its place: older than anything queued after it.
  EXPECT_EQ(*store_->queue_position(early.id), 1u);
  EXPECT_EQ(*store_->queue_position(late.id), 2u);

  ASSERT_TRUE(store_->transition(early.id, {BuildStatus::queued}, BuildStatus::building));
  auto second = store_->recover(/*retry_once=*/true);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ(second->front().status, BuildStatus::failed);
  EXPECT_EQ(second->front().error, "interrupted by server restart");
  EXPECT_EQ(second->front().attempt, 2);
}

TEST_F(BuildStoreTest, DatabaseFromANewerStrataIsRefused) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "builds.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = BuildStore::open(dir_.path());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, "DB");
  EXPECT_NE(store.error().message.find("99"), std::string::npos);
}

}  // namespace
}  // namespace strata::builds
