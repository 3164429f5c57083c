// BuildManager: runs the build queue. It accepts validated requests (checks
// the source archive by unpacking it, stores it content-addressed under
// <data>/sources/<sha256 hex>.tar next to the Dockerfile text used,
// <hex>.dockerfile, and inserts a queued build whose context is the checked
// copy, moved to <work>/contexts/<id>/), and N worker threads take queued
// builds in FIFO order with a compare-and-set claim. Per build a worker uses
// that context (or, after a restart, unpacks the stored archive), mints the build's
// registry token (build_token.h), writes <work>/builds/<id>/build.json (0600:
// it holds the token and any cache registry password), runs
// `strata builder` (builder_process.h) with its output streaming into the
// event log, records the result and the final status, revokes the token and
// removes the context. Timeouts stop the builder and fail the build with
// "timeout after Ns".
//
// Every status change is written to the store first and then, as a status
// event, to the build's event log, so a follower sees it after it is durable.
// A build is cancelled either at once (queued) or by stopping its builder
// (building, pushing); the status becomes cancelled once the builder exited.
//
// start() recovers first (BuildStore::recover): builds the previous process
// left running become failed "interrupted by server restart" (or queued again
// with retry_interrupted), their logs get the status event and their tokens
// are revoked. stop() lets no new build start, stops running builders and
// waits for the workers; the builds it interrupted are left building, so the
// next start() recovers them like after a crash.
//
// Thread-safe. Errors: FIELD_INVALID with detail "source" or "dockerfile"
// (submit: the archive or the Dockerfile in it is unusable), BUILD_UNKNOWN,
// BUILD_FINAL (cancel of a finished build), and IO / DB / the store's codes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/principal.h"
#include "builds/build_store.h"
#include "builds/build_token.h"
#include "builds/builder_config.h"
#include "builds/cache_registry.h"
#include "builds/builder_process.h"
#include "builds/event_log.h"
#include "builds/request_parser.h"
#include "builds/secret_store.h"
#include "builds/source_archive.h"
#include "sandbox/sandbox_policy.h"

namespace strata::builds {

struct ManagerOptions {
  std::filesystem::path data_dir;
  std::filesystem::path work_dir;  // builder work: contexts, build.json, snapshots
  std::size_t max_concurrent = 2;
  bool retry_interrupted = false;
  SourceLimits source_limits{};    // applied to every uploaded archive
  std::string registry_url;        // how the builder reaches our registry, "http://127.0.0.1:8083"
  std::string registry_host;       // in image references, "registry.example.com"
  std::optional<CacheRegistry> cache_registry{};  // unset: cache repositories on our registry
  std::filesystem::path builder_executable = "/proc/self/exe";
  std::chrono::milliseconds kill_grace{std::chrono::seconds(10)};
  std::string engine_version;
  sandbox::SandboxPolicy sandbox{};  // every build's sandbox, into build.json
};

// Where a build's files live; one place for the layout.
struct BuildPaths {
  std::filesystem::path context;  // the unpacked source
  std::filesystem::path run_dir;  // build.json and result.json
};

class BuildManager {
 public:
  // The manager borrows the store, the logs and the token minter; they must
  // outlive it. Creates the directories it needs.
  static Result<std::unique_ptr<BuildManager>> open(ManagerOptions options, BuildStore& store, EventLogs& logs,
                                                    const BuildTokens& tokens, SecretStore secrets);
  ~BuildManager();  // stop()
  BuildManager(const BuildManager&) = delete;
  BuildManager& operator=(const BuildManager&) = delete;

  // Recovers, then starts the workers; the registry address fills the
  // options' registry_url and registry_host.
  Result<void> start(std::string registry_url, std::string registry_host);
  void stop();

  // Where POST /builds stages uploads (under the data dir, so the move into
  // sources/ is a rename).
  const std::filesystem::path& staging_dir() const { return staging_dir_; }
  const SecretStore& secrets() const { return secrets_; }
  const ManagerOptions& options() const { return options_; }

  // Checks the archive and the Dockerfile, stores them and queues the build.
  // The queue position is the build's when it was queued (no worker can
  // claim it in between), so the answer to the client is exact.
  struct Submitted {
    Build build;
    std::size_t queue_position = 0;
  };
  Result<Submitted> submit(const auth::Principal& caller, ValidatedForm form, StagedSource source);

  // Cancels a queued or running build and returns it as stored afterwards
  // (cancelled, unless the builder did not exit within the grace period).
  Result<Build> cancel(std::string_view id);

  BuildPaths paths_of(std::string_view id) const;
  std::filesystem::path checks_dir() const;

 private:
  struct Run;
  BuildManager(ManagerOptions options, BuildStore& store, EventLogs& logs, const BuildTokens& tokens,
               SecretStore secrets);

  struct RunOutcome;
  Result<void> recover();
  void work(std::size_t slot);
  std::optional<Build> claim_next();
  void run(Build build, std::shared_ptr<Run> run);
  Result<BuilderSetup> prepare(const Build& build, const Run& run);
  RunOutcome supervise(const Build& build, Run& run, const BuilderSetup& setup, EventLog& log);
  void record(const Build& build, RunOutcome outcome);
  void append_status(const Build& build);
  Result<std::string> store_source(const ValidatedForm& form, StagedSource& source, oci::Digest& dockerfile_digest,
                                   std::filesystem::path& check_dir);

  ManagerOptions options_;  // registry address set by start(), before any worker runs
  BuildStore& store_;
  EventLogs& logs_;
  const BuildTokens& tokens_;
  const SecretStore secrets_;
  const std::filesystem::path sources_dir_;
  const std::filesystem::path staging_dir_;
  bool contexts_mounted_ = false;  // <work>/contexts is our tmpfs (context_space.h)

  std::mutex mutex_;  // guards everything below; claims and cancels take it
  std::condition_variable work_available_;
  std::condition_variable run_ended_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<Run>, std::less<>> running_;
  std::vector<std::thread> workers_;
};

}  // namespace strata::builds
