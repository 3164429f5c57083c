#include "builds/manager.h"

#include <atomic>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "builds/builder_config.h"
#include "builds/builder_result.h"
#include "builds/context_space.h"
#include "common/unique_fd.h"

namespace strata::builds {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kSupervisePoll = 100ms;
constexpr std::string_view kInterrupted = "interrupted by server restart";

void remove_tree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) spdlog::warn("builds: cannot remove {}: {}", path.string(), ec.message());
}

// Written to a temporary file of its own and renamed, so a reader never sees
// half a file and concurrent writers of the same content-addressed file
// cannot trip over each other.
Result<void> write_file(const fs::path& path, std::string_view content, mode_t mode) {
  std::string partial = path.string() + ".XXXXXX";
  UniqueFd fd(::mkstemp(partial.data()));
  auto failed = [&] {
    ::unlink(partial.c_str());
    return fail("IO", "cannot write " + path.filename().string());
  };
  if (!fd) return fail("IO", "cannot write " + path.filename().string());
  if (::fchmod(fd.get(), mode) != 0) return failed();
  for (std::size_t done = 0; done < content.size();) {
    auto n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed();
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || fd.close() != 0 || ::rename(partial.c_str(), path.c_str()) != 0) return failed();
  return {};
}

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("IO", "cannot read " + path.filename().string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The builder announces its push as the step "[output 1/1] push <ref>".
bool is_push_phase(std::string_view line) {
  return line.starts_with('#') && line.find(" [output ") != std::string_view::npos &&
         line.find("] push ") != std::string_view::npos;
}

Result<void> make_dirs(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return fail("IO", fmt::format("cannot create {}: {}", path.string(), ec.message()));
  return {};
}

}  // namespace

// One build being run by a worker: what cancel() needs to reach it.
struct BuildManager::Run {
  std::string token;                  // the registry token the build was started with
  bool cancel_requested = false;      // guarded by the manager's mutex
  BuilderProcess* process = nullptr;  // guarded by the manager's mutex; set while the builder runs
  std::size_t slot = 0;               // the worker running it: picks the build's user namespace ids
};

BuildManager::BuildManager(ManagerOptions options, BuildStore& store, EventLogs& logs, const BuildTokens& tokens,
                           SecretStore secrets)
    : options_(std::move(options)),
      store_(store),
      logs_(logs),
      tokens_(tokens),
      secrets_(std::move(secrets)),
      sources_dir_(options_.data_dir / "sources"),
      staging_dir_(options_.data_dir / "sources" / "staging") {}

Result<std::unique_ptr<BuildManager>> BuildManager::open(ManagerOptions options, BuildStore& store,
                                                         EventLogs& logs, const BuildTokens& tokens,
                                                         SecretStore secrets) {
  if (options.max_concurrent == 0) return fail("CONFIG_INVALID", "at least one build must be able to run");
  std::unique_ptr<BuildManager> manager(new BuildManager(std::move(options), store, logs, tokens, std::move(secrets)));
  // Leftovers of a previous process: no upload or build is in flight now.
  remove_tree(manager->staging_dir_);
  remove_tree(manager->options_.work_dir / "runs");
  fs::path contexts = manager->options_.work_dir / "contexts";
  auto in_memory = prepare_context_space(
      contexts, context_space_bytes(manager->options_.max_concurrent, manager->options_.source_limits.max_content_bytes));
  if (!in_memory) return std::unexpected(in_memory.error());
  manager->contexts_mounted_ = *in_memory;
  for (const fs::path& dir : {manager->staging_dir_, manager->checks_dir(), manager->options_.work_dir / "runs"})
    if (auto ok = make_dirs(dir); !ok) return std::unexpected(ok.error());
  return manager;
}

BuildManager::~BuildManager() {
  stop();
  if (contexts_mounted_) release_context_space(options_.work_dir / "contexts");
}

// Checked contexts are unpacked on the contexts' filesystem, so accepting a
// build moves its context in place with one rename.
fs::path BuildManager::checks_dir() const { return options_.work_dir / "contexts" / ".checks"; }

BuildPaths BuildManager::paths_of(std::string_view id) const {
  return {options_.work_dir / "contexts" / std::string(id), options_.work_dir / "runs" / std::string(id)};
}

Result<void> BuildManager::start(std::string registry_url, std::string registry_host) {
  options_.registry_url = std::move(registry_url);
  options_.registry_host = std::move(registry_host);
  if (auto ok = recover(); !ok) return ok;
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < options_.max_concurrent; ++i) workers_.emplace_back([this, i] { work(i); });
  return {};
}

Result<void> BuildManager::recover() {
  auto changed = store_.recover(options_.retry_interrupted);
  if (!changed) return std::unexpected(changed.error());
  for (const Build& build : *changed) {
    spdlog::warn("build {}: {}", build.id,
                 build.status == BuildStatus::queued ? "queued again after a server restart" : kInterrupted);
    append_status(build);
    if (build.token)
      if (auto ok = tokens_.revoke(*build.token); !ok)
        spdlog::error("build {}: cannot revoke its token: {}", build.id, ok.error().message);
  }
  return {};
}

void BuildManager::stop() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, run] : running_)
      if (run->process) run->process->stop(options_.kill_grace);
    workers.swap(workers_);
  }
  work_available_.notify_all();
  for (auto& worker : workers) worker.join();
}

void BuildManager::append_status(const Build& build) {
  auto log = logs_.open(build.id);
  if (!log) {
    spdlog::error("build {}: cannot open its event log: {}", build.id, log.error().message);
    return;
  }
  if (auto ok = (*log)->append_status(build.status, build.error); !ok)
    spdlog::error("build {}: cannot log status {}: {}", build.id, status_name(build.status), ok.error().message);
}

// ---- submit ---------------------------------------------------------------------

// Unpacks the archive to check it and to find the Dockerfile, into
// `check_dir`/context, which submit() hands to the build as its context (a
// build started after a restart unpacks the stored archive again). On
// failure nothing is left in `check_dir`.
Result<std::string> BuildManager::store_source(const ValidatedForm& form, StagedSource& source,
                                               oci::Digest& dockerfile_digest, fs::path& check_dir) {
  char name[] = "check-XXXXXX";
  fs::path scratch = checks_dir();
  std::string pattern = (scratch / name).string();
  if (!::mkdtemp(pattern.data())) return fail("IO", "cannot create a directory to check the source");
  check_dir = pattern;
  fs::path context = check_dir / "context";
  auto extracted = extract_source_archive(source.file(), context, options_.source_limits);
  std::optional<Result<std::string>> dockerfile;
  if (extracted && !form.dockerfile_text) dockerfile = find_dockerfile(context, form.request.dockerfile_path);
  if (!extracted) {
    if (extracted.error().code == "IO" || extracted.error().code == "NO_SPACE")
      return std::unexpected(extracted.error());
    return field_error("source", extracted.error().message);
  }
  std::string text;
  if (form.dockerfile_text) {
    text = *form.dockerfile_text;
  } else if (!*dockerfile) {
    std::string path = form.request.dockerfile_path.empty() ? "Dockerfile" : form.request.dockerfile_path;
    return field_error("dockerfile", fmt::format("no usable {} in the context ({}); send the dockerfile field or "
                                                 "dockerfile_path", path, dockerfile->error().message));
  } else {
    text = std::move(**dockerfile);
  }
  dockerfile_digest = oci::Digest::of(oci::DigestAlgorithm::sha256, text);
  if (auto ok = write_file(sources_dir_ / (dockerfile_digest.hex() + ".dockerfile"), text, 0644); !ok)
    return std::unexpected(ok.error());
  fs::path archive = sources_dir_ / (source.digest().hex() + ".tar");
  // Content-addressed: an archive already stored is the same bytes.
  std::error_code ec;
  if (!fs::exists(archive, ec)) fs::rename(source.file(), archive, ec);
  if (ec) return fail("IO", "cannot store the source archive: " + ec.message());
  return text;
}

Result<BuildManager::Submitted> BuildManager::submit(const auth::Principal& caller, ValidatedForm form,
                                                     StagedSource source) {
  oci::Digest dockerfile_digest = oci::Digest::of(oci::DigestAlgorithm::sha256, "");
  fs::path check_dir;
  auto stored = store_source(form, source, dockerfile_digest, check_dir);
  // Whatever happens below, the check dir goes; its context, once moved, stays.
  struct RemoveCheckDir {
    const fs::path& dir;
    ~RemoveCheckDir() {
      if (!dir.empty()) remove_tree(dir);
    }
  } remove_check_dir{check_dir};
  if (!stored) return std::unexpected(stored.error());
  form.request.dockerfile_digest = dockerfile_digest;
  std::unique_lock lock(mutex_);
  // Claims take the same lock: the build is still queued when its position
  // is read, its context is in place, and its queued event is logged before
  // a worker adds "building".
  auto build = store_.insert(caller.is_operator() ? "" : caller.tenant, caller.subject(), std::move(form.request));
  if (!build) return std::unexpected(build.error());
  std::error_code moved;
  fs::rename(check_dir / "context", paths_of(build->id).context, moved);  // else prepare() unpacks again
  auto position = store_.queue_position(build->id);
  if (!position) return std::unexpected(position.error());
  append_status(*build);
  lock.unlock();
  Submitted submitted{std::move(*build), position->value_or(1)};
  spdlog::info("build {} queued by {} at position {}", submitted.build.id, caller.subject(), submitted.queue_position);
  work_available_.notify_one();
  return submitted;
}

// ---- cancel ---------------------------------------------------------------------

Result<Build> BuildManager::cancel(std::string_view id) {
  std::unique_lock lock(mutex_);
  auto cancelled = store_.transition(id, {BuildStatus::queued}, BuildStatus::cancelled, {.error = "cancelled"});
  if (cancelled) {
    lock.unlock();
    remove_tree(paths_of(id).context);  // a queued build's context, ready since submit
    append_status(*cancelled);
    spdlog::info("build {} cancelled while queued", id);
    return cancelled;
  }
  if (cancelled.error().code != "BUILD_STATUS_CONFLICT") return cancelled;
  auto it = running_.find(id);
  if (it == running_.end()) {
    auto build = store_.get(id);
    if (!build) return build;
    return fail("BUILD_FINAL", fmt::format("build {} is already {}", id, status_name(build->status)));
  }
  std::shared_ptr<Run> run = it->second;
  run->cancel_requested = true;
  if (run->process) run->process->stop(options_.kill_grace);
  spdlog::info("build {} cancel requested: stopping its builder", id);
  // The worker records the cancel once the builder is gone.
  run_ended_.wait_for(lock, options_.kill_grace + 5s, [&] { return !running_.contains(id); });
  lock.unlock();
  return store_.get(id);
}

// ---- workers --------------------------------------------------------------------

void BuildManager::work(std::size_t slot) {
  // Termination signals belong to the server's signal thread; a worker (or
  // the builder output readers it starts) taking one would end the process
  // without a graceful stop.
  sigset_t termination;
  sigemptyset(&termination);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&termination, signal);
  pthread_sigmask(SIG_BLOCK, &termination, nullptr);
  for (;;) {
    std::optional<Build> build;
    std::shared_ptr<Run> run;
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
      build = claim_next();
      if (!build) {
        // A timed wait also picks up builds queued by a retry or missed wake-ups.
        work_available_.wait_for(lock, 1s);
        continue;
      }
      run = running_.at(build->id);
      run->slot = slot;
    }
    this->run(std::move(*build), std::move(run));
  }
}

// Holding mutex_: the oldest queued build, moved to building with a fresh
// token and registered as running, or nothing.
std::optional<Build> BuildManager::claim_next() {
  for (;;) {
    auto next = store_.next_queued();
    if (!next) {
      spdlog::error("builds: cannot read the queue: {}", next.error().message);
      return std::nullopt;
    }
    if (!*next) return std::nullopt;
    const Build& queued = **next;
    auto token = tokens_.mint(queued);
    if (!token) {
      spdlog::error("build {}: cannot mint its token: {}", queued.id, token.error().message);
      auto failed = store_.transition(queued.id, {BuildStatus::queued}, BuildStatus::failed,
                                      {.error = "cannot mint the build's registry token"});
      if (failed) append_status(*failed);
      continue;
    }
    auto claimed = store_.transition(queued.id, {BuildStatus::queued}, BuildStatus::building, {.token = token->record});
    if (!claimed) {
      (void)tokens_.revoke(token->record);
      if (claimed.error().code == "BUILD_STATUS_CONFLICT") continue;
      spdlog::error("build {}: cannot start: {}", queued.id, claimed.error().message);
      return std::nullopt;
    }
    auto run = std::make_shared<Run>();
    run->token = std::move(token->token);
    running_.emplace(claimed->id, std::move(run));
    return std::move(*claimed);
  }
}


// ---- one build ------------------------------------------------------------------

// How a run ended, before it is recorded.
struct BuildManager::RunOutcome {
  BuildStatus status = BuildStatus::failed;
  std::string error{};
  std::optional<BuildResult> result{};
};

Result<BuilderSetup> BuildManager::prepare(const Build& build, const Run& run) {
  BuildPaths paths = paths_of(build.id);
  remove_tree(paths.run_dir);
  // The context checked at submit, moved here whole by rename; after a
  // restart (open() empties contexts/) the stored archive is unpacked again.
  std::error_code ec;
  if (!fs::is_directory(paths.context, ec)) {
    fs::path archive = sources_dir_ / (build.request.source_digest.hex() + ".tar");
    auto extracted = extract_source_archive(archive, paths.context, options_.source_limits);
    if (!extracted) return fail(extracted.error().code, "cannot unpack the source: " + extracted.error().message);
  }
  std::string dockerfile;
  if (build.request.dockerfile_digest) {
    auto text = read_file(sources_dir_ / (build.request.dockerfile_digest->hex() + ".dockerfile"));
    if (!text) return std::unexpected(text.error());
    dockerfile = std::move(*text);
  }
  BuilderSetup setup{.context_dir = paths.context,
                     .dockerfile_text = std::move(dockerfile),
                     .registry_url = options_.registry_url,
                     .registry_token = run.token,
                     .work_dir = options_.work_dir,
                     .result_path = paths.run_dir / "result.json",
                     .secret_files = {},
                     .cache_registry = options_.cache_registry,
                     .sandbox = options_.sandbox};
  // Builds running at once get distinct host ids where the range allows.
  setup.sandbox.ids = sandbox::build_id_range(options_.sandbox.ids, run.slot);
  for (const auto& secret : build.request.secrets) {
    auto file = secrets_.find(secret.id);
    if (!file) return fail("SECRET_UNKNOWN", fmt::format("secret \"{}\" is no longer in the secret store", secret.id));
    setup.secret_files.push_back(*file);
  }
  if (auto ok = make_dirs(paths.run_dir); !ok) return std::unexpected(ok.error());
  // The config holds the token: readable by the server's user only.
  if (auto ok = write_file(paths.run_dir / "build.json", builder_config_json(build, setup), 0600); !ok)
    return std::unexpected(ok.error());
  return setup;
}

BuildManager::RunOutcome BuildManager::supervise(const Build& build, Run& run, const BuilderSetup& setup, EventLog& log) {
  std::atomic<bool> pushing = false;
  auto sink = [&](std::string_view line) {
    (void)log.append_log(line);
    if (!pushing && is_push_phase(line)) {
      pushing = true;
      auto moved = store_.transition(build.id, {BuildStatus::building}, BuildStatus::pushing);
      if (moved) append_status(*moved);
    }
  };
  BuilderCommand command{options_.builder_executable, paths_of(build.id).run_dir / "build.json",
                         paths_of(build.id).run_dir};
  auto process = BuilderProcess::start(command, sink);
  if (!process) return {BuildStatus::failed, "cannot start the builder: " + process.error().message};
  {
    std::lock_guard lock(mutex_);
    run.process = process->get();
    if (run.cancel_requested || stopping_) run.process->stop(options_.kill_grace);
  }
  auto deadline = std::chrono::steady_clock::now() + build.request.timeout;
  bool timed_out = false;
  std::optional<BuilderExit> exit;
  while (!(exit = (*process)->wait_for(kSupervisePoll))) {
    if (!timed_out && std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      spdlog::info("build {}: timeout after {}s, stopping its builder", build.id, build.request.timeout.count());
      (*process)->stop(options_.kill_grace);
    }
  }
  bool cancelled = false;
  {
    std::lock_guard lock(mutex_);
    run.process = nullptr;
    cancelled = run.cancel_requested;
  }
  process->reset();
  if (cancelled) return {BuildStatus::cancelled, "cancelled"};
  if (timed_out) return {BuildStatus::failed, fmt::format("timeout after {}s", build.request.timeout.count())};
  auto outcome = read_builder_result(setup.result_path, options_.engine_version);
  if (!outcome) {
    std::string how = exit->code ? fmt::format("exit code {}", *exit->code) : fmt::format("signal {}", *exit->signal);
    return {BuildStatus::failed, fmt::format("the builder ended ({}) without a result", how)};
  }
  if (auto* failure = std::get_if<BuilderFailure>(&*outcome)) return {BuildStatus::failed, failure->error};
  auto& result = std::get<BuildResult>(*outcome);
  result.image_reference = fmt::format("{}/{}@{}", options_.registry_host, output_repository(build),
                                       result.manifest_digest.str());
  return {BuildStatus::ready, "", std::move(result)};
}

// Records the outcome: the result, then the status (through pushing, as the
// status flow requires), each status change also as an event.
void BuildManager::record(const Build& build, RunOutcome outcome) {
  if (outcome.result) {
    if (auto ok = store_.set_result(build.id, std::move(*outcome.result)); !ok) {
      outcome = {BuildStatus::failed, "cannot record the result: " + ok.error().message};
    } else if (auto moved = store_.transition(build.id, {BuildStatus::building}, BuildStatus::pushing)) {
      append_status(*moved);
    }
  }
  auto final = outcome.status == BuildStatus::ready
                   ? store_.transition(build.id, {BuildStatus::pushing}, outcome.status)
                   : store_.transition(build.id, {BuildStatus::building, BuildStatus::pushing}, outcome.status,
                                       {.error = outcome.error});
  if (!final) {
    spdlog::error("build {}: cannot record status {}: {}", build.id, status_name(outcome.status),
                  final.error().message);
    return;
  }
  append_status(*final);
  spdlog::info("build {} {}{}{}", build.id, status_name(final->status), final->error.empty() ? "" : ": ",
               final->error);
}

void BuildManager::run(Build build, std::shared_ptr<Run> run) {
  append_status(build);
  spdlog::info("build {} started (attempt {})", build.id, build.attempt);
  RunOutcome outcome;
  auto log = logs_.open(build.id);
  auto setup = log ? prepare(build, *run) : Result<BuilderSetup>(std::unexpected(log.error()));
  if (!setup) {
    spdlog::error("build {}: {}", build.id, setup.error().message);
    outcome = {BuildStatus::failed, setup.error().message};
  } else {
    outcome = supervise(build, *run, *setup, **log);
  }
  bool interrupted = false;
  {
    std::lock_guard lock(mutex_);
    interrupted = stopping_ && !run->cancel_requested;
  }
  // A build the server stopped stays building: the next start recovers it.
  if (!interrupted) record(build, std::move(outcome));
  if (build.token)
    if (auto ok = tokens_.revoke(*build.token); !ok)
      spdlog::error("build {}: cannot revoke its token: {}", build.id, ok.error().message);
  BuildPaths paths = paths_of(build.id);
  remove_tree(paths.context);
  remove_tree(paths.run_dir);
  {
    std::lock_guard lock(mutex_);
    running_.erase(build.id);
  }
  run_ended_.notify_all();
}

}  // namespace strata::builds
