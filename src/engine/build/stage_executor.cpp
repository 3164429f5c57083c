#include "engine/build/stage_executor.h"

#include <fmt/format.h>

#include "common/text.h"
#include "engine/build/copy_step.h"
#include "engine/build/run_step.h"
#include "engine/build/source_roots.h"
#include "engine/build/step_key_inputs.h"
#include "engine/cache/step_key.h"
#include "engine/build/working_dir.h"
#include "engine/fs/user.h"

namespace strata::engine::build {
namespace {

namespace df = dockerfile;
using Clock = std::chrono::steady_clock;

std::string from_text(const df::FromCommand& from) {
  std::string text = "FROM ";
  if (!from.platform.empty()) text += "--platform=" + from.platform + " ";
  text += from.image;
  if (!from.name.empty()) text += " AS " + from.name;
  return text;
}

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

}  // namespace

Result<StageState> StageExecutor::run(std::size_t index) {
  std::size_t steps_before = steps_.size();
  std::size_t recorded_before = session_.cache.recorded();
  auto state = run_stage(index, true);
  if (state || state.error().code != "CACHE_LAYER_UNAVAILABLE" || session_.cancel.reason()) return state;
  // A layer a cache hit promised cannot be had: the cache is never a reason
  // for a failed build, so the stage runs again with every step executed.
  steps_.resize(steps_before);
  session_.cache.forget_after(recorded_before);
  return run_stage(index, false);
}

Result<StageState> StageExecutor::run_stage(std::size_t index, bool use_cache) {
  const df::Stage& stage = dockerfile_.stages[index];
  std::string name = stage.from.name.empty() ? fmt::format("stage-{}", index) : stage.from.name;
  std::size_t total = stage.instructions.size() + 1;

  auto started = Clock::now();
  int step = session_.log.start(name, 1, total, from_text(stage.from));
  auto state = start(index, name, step);
  if (!state) {
    session_.log.error(step, state.error().message);
    return state;
  }
  state->cache_lookups = state->cache_lookups && use_cache;
  session_.log.done(step, Clock::now() - started);
  steps_.push_back({step, name, from_text(stage.from), since(started), std::nullopt, std::nullopt});

  for (std::size_t i = 0; i < stage.instructions.size(); ++i) {
    if (auto reason = session_.cancel.reason()) return std::unexpected(*reason);
    const auto& instruction = stage.instructions[i];
    started = Clock::now();
    step = session_.log.start(name, i + 2, total, trim(instruction.original));
    std::size_t layers_before = state->layers.size();
    auto outcome = execute(*state, index, instruction, step);
    if (!outcome) {
      // A step stopped by the build's cancellation reports why the build stopped.
      auto reason = session_.cancel.reason();
      if (!reason && outcome.error().code == "CACHE_LAYER_UNAVAILABLE")
        session_.log.line(step, fmt::format("warning: {}; running stage {} again without the cache",
                                            outcome.error().message, name));
      else
        session_.log.error(step, reason ? reason->message : outcome.error().message);
      return std::unexpected(outcome.error());
    }
    if (*outcome && (*outcome)->starts_with("hit-")) session_.log.cached(step, (*outcome)->substr(4));
    else session_.log.done(step, Clock::now() - started);
    std::optional<oci::Digest> layer;
    if (state->layers.size() > layers_before) layer = state->layers.back().blob.digest;
    steps_.push_back({step, name, std::string(trim(instruction.original)), since(started), layer, *outcome});
  }
  return state;
}

namespace {

// Like BuildKit, every stage started from an image (or scratch) has a PATH,
// so RUN finds its programs and the image records the same Env.
constexpr std::string_view kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

StageState with_default_path(StageState state) {
  if (!state.image.config.env_value("PATH")) state.image.config.set_env("PATH", kDefaultPath);
  return state;
}

}  // namespace

Result<StageState> StageExecutor::start(std::size_t index, const std::string& name, int step) {
  df::Instruction from{dockerfile_.stages[index].from, "FROM", "", dockerfile_.stages[index].line,
                       dockerfile_.stages[index].line};
  if (auto ok = df::expand_variables(from, global_args_, dockerfile_.escape, dockerfile_.file); !ok)
    return std::unexpected(ok.error());
  const std::string& image = std::get<df::FromCommand>(from.command).image;
  if (iequals(image, "scratch")) {
    StageState state{name, {}, {}, {}, {}, std::nullopt, true};
    const auto& platform = session_.config.platform;
    state.image.architecture = platform.architecture;
    state.image.os = platform.os;
    state.image.variant = platform.variant;
    state.cache_key = cache::scratch_key(fmt::format("{}/{}/{}", platform.os, platform.architecture, platform.variant));
    return with_default_path(std::move(state));
  }
  if (auto parent = df::find_stage(dockerfile_, image, index)) {
    StageState state = finished_.at(*parent);
    state.name = name;
    state.metadata = {};
    state.args.clear();
    return state;
  }
  return from_image(image, name, step);
}

Result<StageState> StageExecutor::from_image(const std::string& reference, const std::string& name, int step) {
  auto pulled = session_.images.pull(reference, step);
  if (!pulled) return std::unexpected(pulled.error());
  StageState state{name, (*pulled)->config, {}, (*pulled)->layers, {}, cache::base_key((*pulled)->manifest_digest), true};
  if (!state.image.config.on_build.empty()) {
    // Triggers are recorded by ONBUILD but not run by this builder yet;
    // like Docker, a child image does not inherit them.
    session_.log.line(step, fmt::format("warning: {} ONBUILD trigger(s) of {} are not run",
                                        state.image.config.on_build.size(), reference));
    state.image.config.on_build.clear();
  }
  return with_default_path(std::move(state));
}

Result<std::optional<std::string>> StageExecutor::execute(StageState& state, std::size_t index,
                                                          const df::Instruction& written, int step) {
  if (std::holds_alternative<df::ArgCommand>(written.command)) {
    auto declared =
        df::declare_args(written, build_args_, global_args_, state.args, dockerfile_.escape, dockerfile_.file);
    if (!declared) return std::unexpected(declared.error());
    return std::nullopt;
  }

  df::Instruction instruction = written;
  if (auto ok = df::expand_variables(instruction, state.expansion_vars(), dockerfile_.escape, dockerfile_.file); !ok)
    return std::unexpected(ok.error());
  std::string created_by(trim(written.original));
  bool writes_files = std::holds_alternative<df::RunCommand>(instruction.command) ||
                      std::holds_alternative<df::CopyCommand>(instruction.command) ||
                      std::holds_alternative<df::WorkdirCommand>(instruction.command);
  if (!std::holds_alternative<df::RunCommand>(instruction.command) &&
      !std::holds_alternative<df::CopyCommand>(instruction.command))
    image::apply_metadata(state.image.config, state.metadata, instruction.command);

  std::optional<ImageLayer> layer;
  std::optional<std::string> outcome;
  if (!writes_files) {
    if (state.cache_key) state.cache_key = metadata_step_key(state, created_by);
  } else {
    SourceRoots sources(session_, dockerfile_, finished_, index);
    bool caching = session_.cache.reads() || session_.cache.writes();
    std::optional<oci::Digest> key;
    if (caching) key = filesystem_step_key(session_, sources, state, instruction.command, step);
    std::optional<CacheHit> hit;
    if (key && state.cache_lookups && session_.cache.reads()) hit = session_.cache.lookup(*key, step);
    if (hit) {
      layer = hit->layer;
      created_by = hit->entry.created_by;
      outcome = fmt::format("hit-{}", tier_name(hit->tier));
    } else {
      state.cache_lookups = false;
      auto made = run_filesystem_step(state, sources, instruction.command, created_by, step);
      if (!made) return std::unexpected(made.error());
      layer = std::move(*made);
      if (key) outcome = "miss";
    }
    if (key) record(state, *key, std::string(trim(written.original)), created_by, layer, std::move(hit));
    state.cache_key = key;
  }
  image::HistoryEntry entry{image::image_timestamp(session_.config.source_date_epoch), created_by, "", "",
                            !layer.has_value()};
  state.image.history.push_back(std::move(entry));
  if (layer) state.layers.push_back(std::move(*layer));
  return outcome;
}

Result<std::optional<ImageLayer>> StageExecutor::run_filesystem_step(StageState& state, SourceRoots& sources,
                                                                     const df::Command& command,
                                                                     std::string& created_by, int step) {
  if (const auto* run = std::get_if<df::RunCommand>(&command)) {
    auto outcome = run_step(session_, sources, state, *run, step);
    if (!outcome) return std::unexpected(outcome.error());
    created_by = outcome->created_by;
    return std::move(outcome->layer);
  }
  if (const auto* copy = std::get_if<df::CopyCommand>(&command)) return copy_step(session_, sources, state, *copy, step);
  return workdir_step(state);
}

void StageExecutor::record(const StageState& state, const oci::Digest& key, std::string instruction,
                           const std::string& created_by, const std::optional<ImageLayer>& layer,
                           std::optional<CacheHit> hit) {
  cache::CacheEntry entry{key, *state.cache_key, std::move(instruction), std::nullopt, created_by,
                          session_.cache.writer()};
  if (layer) entry.layer = cache::EntryLayer{layer->blob, layer->diff_id};
  session_.cache.record({std::move(entry), layer, std::move(hit)});
}

// BuildKit makes WORKDIR's directory, owned by the stage's USER, in a layer
// of its own; a directory that exists already adds no layer.
Result<std::optional<ImageLayer>> StageExecutor::workdir_step(StageState& state) {
  auto mount = session_.snapshots.prepare(state.layers);
  if (!mount) return std::unexpected(mount.error());
  fs::Owner owner;
  Result<bool> made = true;
  if (!state.image.config.user.empty()) {
    auto user = fs::resolve_user(mount->merged, state.image.config.user);
    if (user) owner = user->owner;
    else made = std::unexpected(user.error());
  }
  if (made) made = create_working_dir(mount->merged, state.image.config.working_dir, owner);
  if (!made || !*made) {
    (void)session_.snapshots.discard(*mount);
    if (!made) return std::unexpected(made.error());
    return std::nullopt;
  }
  return session_.snapshots.commit(*mount);
}

}  // namespace strata::engine::build
