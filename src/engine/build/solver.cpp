#include "engine/build/solver.h"

#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "engine/build/container_views.h"
#include "engine/build/image_push.h"
#include "engine/build/stage_executor.h"
#include "engine/dockerfile/parser.h"

namespace strata::engine::build {
namespace {

namespace df = dockerfile;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Result<std::optional<std::string>> read_text(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("IO", fmt::format("cannot read {}", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<df::Dockerfile> load_dockerfile(const BuildConfig& config) {
  std::string text;
  if (config.dockerfile_text) {
    text = *config.dockerfile_text;
  } else {
    auto read = read_text(config.context_dir / config.dockerfile);
    if (!read) return std::unexpected(read.error());
    if (!*read) return fail("DOCKERFILE_INVALID", fmt::format("{}: no such file in the build context", config.dockerfile));
    text = std::move(**read);
  }
  auto tree = df::parse(text, fs::path(config.dockerfile).filename().string());
  if (!tree) return std::unexpected(tree.error());
  return df::load(*tree);
}

Result<df::IgnoreRules> load_dockerignore(const fs::path& context) {
  auto text = read_text(context / ".dockerignore");
  if (!text) return std::unexpected(text.error());
  auto rules = df::IgnoreRules::parse(text->value_or(""));
  if (!rules) return fail(rules.error().code, ".dockerignore: " + rules.error().message);
  return rules;
}

std::string platform_text(const oci::Platform& platform) {
  std::string text = platform.os + "/" + platform.architecture;
  if (!platform.variant.empty()) text += "/" + platform.variant;
  return text;
}

// BuildKit's automatic platform ARGs (building for the host's platform
// only, BUILD* and TARGET* agree); explicit build args win.
df::Variables effective_build_args(const BuildConfig& config) {
  const auto& p = config.platform;
  df::Variables args;
  for (const char* prefix : {"BUILD", "TARGET"}) {
    args[std::string(prefix) + "PLATFORM"] = platform_text(p);
    args[std::string(prefix) + "OS"] = p.os;
    args[std::string(prefix) + "ARCH"] = p.architecture;
    args[std::string(prefix) + "VARIANT"] = p.variant;
  }
  for (const auto& [key, value] : config.build_args) args[key] = value;
  return args;
}

// A prefix for mount and container ids: the build id, tamed and short.
std::string id_prefix(const std::string& build_id) {
  std::string prefix;
  for (char c : build_id.substr(0, 40))
    prefix += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return "b" + prefix;
}

CacheRepository cache_repository(const BuildConfig& config, const std::string& repository) {
  bool global = repository.starts_with("cache/global/");
  return {config.cache_endpoint(), repository, global ? CacheTier::global : CacheTier::tenant};
}

StepCache make_cache(const BuildConfig& config, Registries& registries, const std::filesystem::path& scratch,
                     BuildLog& log) {
  std::vector<CacheRepository> import;
  for (const auto& repository : config.cache.import) import.push_back(cache_repository(config, repository));
  std::optional<CacheRepository> export_to;
  if (config.cache.export_to) export_to = cache_repository(config, *config.cache.export_to);
  cache::EntryWriter writer{config.id, std::nullopt, config.cache.is_admin_build};
  // A regular build writes its tenant's cache, cache/<tenant>.
  if (export_to && export_to->tier == CacheTier::tenant && export_to->repository.starts_with("cache/"))
    writer.tenant = export_to->repository.substr(6);
  return StepCache(registries, std::move(import), std::move(export_to), std::move(writer), scratch, log);
}

// The cgroup bounding every RUN step of the build with its limits.
Result<exec::BuildCgroup> build_cgroup(const BuildConfig& config) {
  auto hierarchy = exec::CgroupHierarchy::detect();
  auto name = id_prefix(config.id) + "-" + work_root_tag(config.work_dir);
  auto cgroup = hierarchy ? exec::BuildCgroup::create(*hierarchy, name, config.sandbox.limits)
                          : Result<exec::BuildCgroup>(std::unexpected(hierarchy.error()));
  if (!cgroup)
    return fail(cgroup.error().code, "cannot set up the build's resource limits: " + cgroup.error().message);
  return cgroup;
}

// The objects one build's steps share, torn down in reverse order.
class Build {
 public:
  Build(const BuildConfig& config, BuildLog& log, const Cancellation& cancel, WorkDir work,
        snapshot::Snapshotter snapshotter, std::unique_ptr<ContainerViews> views, df::IgnoreRules ignore,
        exec::OciRuntime runtime, exec::BuildCgroup cgroup, sandbox::AddressPolicy addresses)
      : config_(config), log_(log), cancel_(cancel), work_(std::move(work)), snapshotter_(std::move(snapshotter)),
        views_(std::move(views)), ignore_(std::move(ignore)), cgroup_(std::move(cgroup)),
        addresses_(std::move(addresses)),
        snapshots_(snapshotter_, id_prefix(config.id), work_.build_dir() / "blobs",
                   {config.layer_compression, config.source_date_epoch}),
        executor_({.runtime = std::move(runtime), .state_dir = work_.runc_state(), .bundle_dir = work_.bundles(),
                   .id_mapping = &views_->mapping(), .rootfs_binds = work_.rootfs_binds()}),
        network_({.dir = work_.network_dir(), .egress_policy = addresses_}),
        registries_(config.registries, registry_access(config, addresses_)),
        images_(registries_, snapshotter_, config.platform, work_.build_dir(), log),
        cache_(make_cache(config, registries_, work_.build_dir(), log)),
        cache_mounts_(work_.cache_mounts(), config.sandbox.limits.disk_bytes),
        session_{config,  work_, snapshots_, executor_, cgroup_, network_,      addresses_,
                 images_, log,   cancel,     ignore_,   cache_,  cache_mounts_} {
    snapshots_.fetch_layers_with([this](const ImageLayer& layer) { return images_.unpack(layer, log_.current()); });
    snapshots_.map_containers_with(&views_->mapped_access());
  }

  // Builds and pushes; then exports the build cache, also after a failure
  // (the steps that finished), but not after a cancel or timeout.
  Result<BuildResult> run(const df::Dockerfile& dockerfile) {
    auto result = build(dockerfile);
    // A step that died of ENOSPC says "No space left on device" or just
    // fails: when the build's volume is full, say it was the quota.
    if (!result && work_.disk_exhausted())
      result = fail("DISK_QUOTA_EXCEEDED",
                    fmt::format("build disk quota exceeded ({})", sandbox::format_byte_size(work_.disk_quota())),
                    result.error().message);
    else if (!result && cache_mounts_.exhausted())
      result = fail("DISK_QUOTA_EXCEEDED",
                    fmt::format("cache mount quota exceeded ({})", sandbox::format_byte_size(cache_mounts_.bytes())),
                    result.error().message);
    if (!cancel_.reason()) {
      std::optional<remote::RemoteImage> pushed;
      if (result)
        pushed = remote::RemoteImage{config_.output_endpoint(), config_.output_repository,
                                     oci::Reference(result->manifest_digest)};
      cache_.export_recorded(pushed);
    }
    if (auto cleaned = snapshots_.discard_all(); !cleaned && result) return std::unexpected(cleaned.error());
    return result;
  }

 private:
  Result<BuildResult> build(const df::Dockerfile& dockerfile) {
    auto started = Clock::now();
    auto build_args = effective_build_args(config_);
    auto order = df::stages_for_target(dockerfile, config_.target, build_args);
    if (!order) return std::unexpected(order.error());
    auto globals = df::global_arg_values(dockerfile, build_args);
    if (!globals) return std::unexpected(globals.error());

    std::vector<StepRecord> steps;
    std::map<std::size_t, StageState> finished;
    StageExecutor stages(session_, dockerfile, build_args, *globals, finished, steps);
    for (std::size_t index : *order) {
      auto state = stages.run(index);
      if (!state) return std::unexpected(state.error());
      finished.emplace(index, std::move(*state));
    }
    if (auto reason = cancel_.reason()) return std::unexpected(*reason);

    const StageState& target = finished.at(order->back());
    auto pushed = push(target);
    if (!pushed) return std::unexpected(pushed.error());

    std::vector<BaseImageRecord> bases;
    for (const PulledImage* image : images_.pulled()) bases.push_back({image->ref, image->manifest_digest});
    return BuildResult{
        pushed->manifest_digest,
        pushed->config_digest,
        fmt::format("{}/{}@{}", config_.registry_host(), config_.output_repository, pushed->manifest_digest.str()),
        target.layers,
        std::move(bases),
        std::move(steps),
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started)};
  }

  Result<PushedImage> push(const StageState& target) {
    image::ImageConfig image = target.image;
    image.created = image::image_timestamp(config_.source_date_epoch);
    image.diff_ids.clear();
    for (const auto& layer : target.layers) image.diff_ids.push_back(layer.diff_id);
    std::string destination = config_.registry_host() + "/" + config_.output_repository +
                              (config_.output_tag ? ":" + *config_.output_tag : "");
    auto started = Clock::now();
    int step = log_.start("output", 1, 1, "push " + destination);
    ImagePusher pusher(registries_, config_, work_.build_dir(), log_, step);
    auto pushed = pusher.push(image::serialize_image_config(image), target.layers);
    if (!pushed) {
      log_.error(step, pushed.error().message);
      return pushed;
    }
    log_.done(step, Clock::now() - started);
    return pushed;
  }

  const BuildConfig& config_;
  BuildLog& log_;
  const Cancellation& cancel_;
  WorkDir work_;
  snapshot::Snapshotter snapshotter_;
  std::unique_ptr<ContainerViews> views_;  // before the mounts stacked on them
  df::IgnoreRules ignore_;
  exec::BuildCgroup cgroup_;
  sandbox::AddressPolicy addresses_;
  StepSnapshots snapshots_;
  exec::OciRuntimeExecutor executor_;
  exec::BuildNetwork network_;
  Registries registries_;
  ImagePuller images_;
  StepCache cache_;
  CacheMountVolumes cache_mounts_;
  BuildSession session_;
};

Result<BuildResult> build(const BuildConfig& config, BuildLog& log, const Cancellation& cancel) {
  auto dockerfile = load_dockerfile(config);
  if (!dockerfile) return std::unexpected(dockerfile.error());
  auto ignore = load_dockerignore(config.context_dir);
  if (!ignore) return std::unexpected(ignore.error());
  // Host names in the operator's egress lists are resolved once, now.
  auto addresses = sandbox::AddressPolicy::for_this_host(config.sandbox.network);
  if (!addresses) return std::unexpected(addresses.error());
  auto work = WorkDir::open(config.work_dir, config.id, config.sandbox.limits.disk_bytes);
  if (!work) return std::unexpected(work.error());
  auto runtime = exec::OciRuntime::locate(config.sandbox.runtime, config.sandbox.runtime_path);
  if (!runtime) return std::unexpected(runtime.error());
  auto snapshotter = snapshot::Snapshotter::open(work->snapshots(), work->step_mounts());
  if (!snapshotter) return std::unexpected(snapshotter.error());
  auto views = ContainerViews::open(*work, *snapshotter, config.sandbox.ids);
  if (!views) return std::unexpected(views.error());
  auto cgroup = build_cgroup(config);
  if (!cgroup) return std::unexpected(cgroup.error());
  Build build(config, log, cancel, std::move(*work), std::move(*snapshotter),
              std::make_unique<ContainerViews>(std::move(*views)), std::move(*ignore), std::move(*runtime),
              std::move(*cgroup), std::move(*addresses));
  return build.run(*dockerfile);
}

}  // namespace

Result<BuildResult> solve(const BuildConfig& config, BuildLog& log, const Cancellation& cancel) {
  auto result = build(config, log, cancel);
  if (auto reason = cancel.reason(); reason && !result) return std::unexpected(*reason);
  return result;
}

}  // namespace strata::engine::build
