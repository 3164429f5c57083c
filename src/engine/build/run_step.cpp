#include "engine/build/run_step.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/text.h"
#include "engine/build/working_dir.h"
#include "engine/exec/runtime_spec.h"
#include "engine/fs/root_path.h"
#include "engine/fs/user.h"
#include "engine/layer/file_descriptor.h"
#include "oci/digest.h"

namespace strata::engine::build {
namespace {

namespace df = dockerfile;
namespace stdfs = std::filesystem;

// The last lines of a step's output, kept for the error of a failed step:
// at most kLines lines of at most kLineBytes each, however much the step
// printed (clipped from the log or not).
class OutputTail {
 public:
  void add(std::string_view line) {
    lines_.emplace_back(line.substr(0, kLineBytes));
    if (line.size() > kLineBytes) lines_.back() += " [...]";
    if (lines_.size() > kLines) lines_.pop_front();
  }
  std::string text() const {
    std::string text;
    for (const auto& line : lines_) text += line + "\n";
    return text;
  }

 private:
  static constexpr std::size_t kLines = 20;
  static constexpr std::size_t kLineBytes = 1024;
  std::deque<std::string> lines_;
};

std::string memory_limit_text(const sandbox::BuildLimits& limits) {
  return limits.memory_bytes > 0 ? fmt::format("memory limit ({}) reached", sandbox::format_byte_size(limits.memory_bytes))
                                 : std::string("the host ran out of memory");
}

// The error of a step whose command failed or that reached a build limit.
// Reaching one fails the step even when its command exits 0 (a fork bomb's
// shell often does): what the step left behind may be missing the work of
// the processes that were refused or killed, and a tenant must not get a
// layer out of an attack on the build's limits.
Error step_failure(const std::string& command, int exit_code, exec::LimitsHit hit, const sandbox::BuildLimits& limits,
                   std::string output) {
  if (hit.memory)
    return {"RUN_OOM",
            fmt::format("the build ran out of memory: {}; a process of the step was killed (process \"{}\", exit code: {})",
                        memory_limit_text(limits), command, exit_code),
            std::move(output)};
  if (hit.pids)
    return {"RUN_FAILED",
            fmt::format("process \"{}\" hit the build's process limit ({}): new processes were refused "
                        "(exit code: {})",
                        command, limits.pids, exit_code),
            std::move(output)};
  return {"RUN_FAILED", fmt::format("process \"{}\" did not complete successfully: exit code: {}", command, exit_code),
          std::move(output)};
}

// argv of the step: exec form as written; shell form through SHELL, with
// heredoc bodies appended after the command so the shell reads them as the
// here-documents their markers announce (and expands unquoted ones itself).
// A RUN that is nothing but one heredoc runs the heredoc as the script.
std::vector<std::string> step_args(const image::ContainerConfig& config, const df::CommandLine& line) {
  if (line.exec) return *line.exec;
  if (line.heredocs.size() == 1 && trim(line.shell) == line.heredocs.front().marker)
    return exec::shell_form_args(config.shell, line.heredocs.front().content);
  std::string script = line.shell;
  for (const auto& heredoc : line.heredocs) script += "\n" + heredoc.content + heredoc.name;
  return exec::shell_form_args(config.shell, script);
}

std::string join(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
  return text;
}

// A name usable as one path component: the id itself when it is tame,
// otherwise its digest (cache ids default to the target path).
std::string component_for(std::string_view id) {
  bool tame = !id.empty() && id.size() <= 64 && id.front() != '.' &&
              std::all_of(id.begin(), id.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
              });
  if (tame) return std::string(id);
  return oci::Digest::of(oci::DigestAlgorithm::sha256, id).hex();
}

Result<std::string> read_secret(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("SECRET_MISSING", fmt::format("cannot read secret file {}", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Sets `name` in a process environment, replacing an inherited value so the
// process sees exactly one (a secret wins over ENV of the same name).
void set_env(std::vector<std::string>& env, const std::string& name, const std::string& value) {
  std::erase_if(env, [&](const std::string& entry) { return entry.starts_with(name + "="); });
  env.push_back(name + "=" + value);
}

// The host side of a step's --mount flags, alive for the run.
class StepMounts {
 public:
  StepMounts(BuildSession& session, SourceRoots& sources, int step)
      : session_(session), sources_(sources), step_(step) {}
  ~StepMounts() {
    for (const auto& source : opened_) sources_.close(source);
  }

  Result<void> add(const df::Mount& mount, exec::RunSpec& spec) {
    switch (mount.type) {
      case df::MountType::kSecret: return add_secret(mount, spec);
      case df::MountType::kCache: return add_cache(mount, spec);
      case df::MountType::kBind: return add_bind(mount, spec);
    }
    return {};
  }

 private:
  Result<void> add_secret(const df::Mount& mount, exec::RunSpec& spec) {
    const auto& secrets = session_.config.secrets;
    auto it = std::find_if(secrets.begin(), secrets.end(), [&](const SecretFile& s) { return s.id == mount.id; });
    if (it == secrets.end()) {
      if (mount.required) return fail("SECRET_MISSING", fmt::format("secret {} is required but not provided", mount.id));
      return {};
    }
    // The variable named by the mount (env=) and the one the build asked
    // for (env_var) both carry the content as is, like BuildKit.
    if (!mount.env.empty() || !it->env_var.empty()) {
      auto value = read_secret(it->path);
      if (!value) return std::unexpected(value.error());
      for (const std::string& name : {mount.env, it->env_var})
        if (!name.empty()) set_env(spec.env, name, *value);
    }
    if (!mount.target.empty()) spec.mounts.push_back({it->path, mount.target, true});
    return {};
  }

  Result<void> add_cache(const df::Mount& mount, exec::RunSpec& spec) {
    auto scope = session_.cache_mounts.dir_for(component_for(session_.config.cache_mount_scope));
    if (!scope) return std::unexpected(scope.error());
    stdfs::path dir = *scope / component_for(mount.id.empty() ? mount.target : mount.id);
    std::error_code ec;
    if (!stdfs::exists(dir, ec)) {
      stdfs::create_directories(dir, ec);
      if (ec) return fail("IO", fmt::format("cannot create cache mount {}: {}", dir.string(), ec.message()));
      if (::chmod(dir.c_str(), mount.mode.value_or(0755)) != 0 ||
          ::chown(dir.c_str(), mount.uid.value_or(0), mount.gid.value_or(0)) != 0)
        return layer::errno_error("cannot set up cache mount", dir.string());
    }
    if (mount.sharing != df::CacheSharing::kShared) {
      // Private caches are served like locked ones: one user at a time.
      stdfs::path lock_path = dir.string() + ".lock";
      UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
      if (!lock || ::flock(lock.get(), LOCK_EX) != 0) return layer::errno_error("cannot lock cache mount", lock_path.string());
      locks_.push_back(std::move(lock));
    }
    spec.mounts.push_back({dir, mount.target, mount.read_only});
    return {};
  }

  Result<void> add_bind(const df::Mount& mount, exec::RunSpec& spec) {
    auto source = sources_.open(mount.from, step_);
    if (!source) return std::unexpected(source.error());
    opened_.push_back(*source);
    auto rel = fs::clean_in_root(mount.source.empty() ? "/" : "/" + mount.source);
    // runc resolves the bind source on the host: refuse anything a symlink
    // would take outside the source root.
    std::error_code ec;
    stdfs::path root = stdfs::canonical(source->root, ec);
    stdfs::path path = ec ? stdfs::path() : stdfs::canonical(root / rel.value_or(""), ec);
    auto [root_end, path_it] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
    if (ec || !rel || root_end != root.end())
      return fail("RUN_INVALID", fmt::format("--mount=type=bind source {} is missing or leaves its root", mount.source));
    // Always read-only: a writable bind would write into the context or
    // another stage's layers (BuildKit throws such writes away).
    spec.mounts.push_back({path, mount.target, true});
    return {};
  }

  BuildSession& session_;
  SourceRoots& sources_;
  int step_;
  std::vector<SourceRoot> opened_;
  std::vector<UniqueFd> locks_;
};

// The build's egress namespace for RUN --network=host (never the host's own
// network) and for default steps of an egress build; the isolated one for
// --network=none and in isolated builds.
Result<exec::NetworkAccess> step_network(const BuildConfig& config, df::NetworkMode requested) {
  switch (requested) {
    case df::NetworkMode::kNone: return exec::NetworkAccess::isolated;
    case df::NetworkMode::kHost:
      if (config.network_mode != NetworkMode::egress)
        return fail("RUN_INVALID", "RUN --network=host needs a build with network access (network_mode egress)");
      return exec::NetworkAccess::egress;
    case df::NetworkMode::kDefault: break;
  }
  return config.network_mode == NetworkMode::egress ? exec::NetworkAccess::egress : exec::NetworkAccess::isolated;
}

Result<exec::ProcessUser> process_user(const stdfs::path& rootfs, const std::string& user) {
  if (user.empty()) return exec::ProcessUser{};
  auto resolved = fs::resolve_user(rootfs, user);
  if (!resolved) return std::unexpected(resolved.error());
  return exec::ProcessUser{resolved->owner.uid, resolved->owner.gid, resolved->additional_gids};
}

// Everything the container needs, resolved against the step's rootfs.
Result<exec::RunSpec> make_spec(BuildSession& session, StepMounts& mounts, const StageState& stage,
                                const df::RunCommand& run, const snapshot::Mount& mount) {
  const auto& config = stage.image.config;
  exec::RunSpec spec;
  spec.args = step_args(config, run.command);
  spec.env = stage.run_env();
  spec.cwd = config.working_dir.empty() ? "/" : config.working_dir;
  auto user = process_user(mount.merged, config.user);
  if (!user) return std::unexpected(user.error());
  spec.user = *user;
  if (auto made = create_working_dir(mount.merged, spec.cwd, {}); !made) return std::unexpected(made.error());
  auto network = step_network(session.config, run.network);
  if (!network) return std::unexpected(network.error());
  if (auto attached = session.network.attach(spec, *network); !attached) return std::unexpected(attached.error());
  for (const auto& m : run.mounts)
    if (auto ok = mounts.add(m, spec); !ok) return std::unexpected(ok.error());
  return spec;
}

}  // namespace

Result<RunOutcome> run_step(BuildSession& session, SourceRoots& sources, const StageState& stage,
                            const df::RunCommand& run, int step) {
  auto mount = session.snapshots.prepare(stage.layers, StepSnapshots::User::container);
  if (!mount) return std::unexpected(mount.error());
  Result<int> status = 0;
  exec::RunSpec spec;
  {
    StepMounts mounts(session, sources, step);
    auto made = make_spec(session, mounts, stage, run, *mount);
    if (!made) {
      (void)session.snapshots.discard(*mount);
      return std::unexpected(made.error());
    }
    spec = std::move(*made);
    spec.cgroups_path = session.cgroup.step_path(mount->id);
    OutputTail tail;
    auto before = session.cgroup.counters();
    status = session.executor.run(
        mount->id, spec, mount->merged,
        [&](exec::OutputStream, std::string_view line) {
          session.log.output(step, line);
          tail.add(line);
        },
        {session.cancel.deadline(), session.cancel.token()});
    auto hit = session.cgroup.hit_since(before);
    if (status && (*status != 0 || hit.memory || hit.pids))
      status = std::unexpected(step_failure(join(spec.args), *status, hit, session.cgroup.limits(), tail.text()));
  }
  if (!status) {
    (void)session.snapshots.discard(*mount);
    return std::unexpected(status.error());
  }
  auto layer = session.snapshots.commit(*mount);
  if (!layer) return std::unexpected(layer.error());
  return RunOutcome{"RUN " + join(spec.args), std::move(*layer)};
}

}  // namespace strata::engine::build
