#include "engine/build/step_key_inputs.h"

#include <algorithm>

#include "engine/cache/canonical.h"
#include "engine/cache/source_digest.h"
#include "engine/cache/step_key.h"
#include "engine/fs/url_download.h"

namespace strata::engine::build {
namespace {

namespace df = dockerfile;

std::string network_name(const BuildConfig& config, df::NetworkMode requested) {
  switch (requested) {
    case df::NetworkMode::kNone: return "none";
    case df::NetworkMode::kHost: return "host";
    case df::NetworkMode::kDefault: break;
  }
  return config.network_mode == NetworkMode::egress ? "egress" : "isolated";
}

// Adds what `from` + `path` holds to `inputs`; false when it cannot be keyed.
bool add_source(BuildSession& session, SourceRoots& sources, cache::StepInputs& inputs, std::string label,
                const std::string& from, const std::string& path, bool apply_ignore, int step) {
  auto identity = sources.identity(from, step);
  if (!identity) return false;
  if (identity->is_context) {
    auto digest = cache::source_digest(session.config.context_dir, path, true, apply_ignore ? &session.ignore : nullptr);
    if (!digest) return false;
    inputs.sources.emplace_back(std::move(label), digest->str());
    return true;
  }
  if (!identity->id) return false;
  inputs.sources.emplace_back(std::move(label), *identity->id);
  return true;
}

bool add_run(BuildSession& session, SourceRoots& sources, cache::StepInputs& inputs, const df::RunCommand& run,
             int step) {
  inputs.instruction = cache::canonical_run(run);
  inputs.network = network_name(session.config, run.network);
  for (const auto& mount : run.mounts) {
    switch (mount.type) {
      case df::MountType::kBind:
        // The bind shows the context as it is on disk, ignored files included.
        if (!add_source(session, sources, inputs, "bind:" + mount.target, mount.from,
                        mount.source.empty() ? "/" : mount.source, false, step))
          return false;
        break;
      case df::MountType::kSecret: {
        const auto& secrets = session.config.secrets;
        auto it = std::find_if(secrets.begin(), secrets.end(), [&](const SecretFile& s) { return s.id == mount.id; });
        inputs.secrets.push_back(mount.id + (it == secrets.end() ? "" : "=" + it->env_var));
        break;
      }
      case df::MountType::kCache:
        inputs.cache_mounts.push_back(mount.id + "@" + mount.target);
        break;
    }
  }
  return true;
}

bool add_copy(BuildSession& session, SourceRoots& sources, cache::StepInputs& inputs, const df::CopyCommand& copy,
              int step) {
  inputs.instruction = cache::canonical_copy(copy);
  for (const auto& source : copy.sources) {
    // The same test the copy uses to decide it downloads.
    if (copy.is_add && fs::is_remote_source(source)) return false;
    if (!add_source(session, sources, inputs, "copy:" + source, copy.from, source, true, step)) return false;
  }
  return true;
}

}  // namespace

std::optional<oci::Digest> filesystem_step_key(BuildSession& session, SourceRoots& sources, const StageState& stage,
                                               const df::Command& command, int step) {
  if (!stage.cache_key) return std::nullopt;
  const auto& config = stage.image.config;
  cache::StepInputs inputs;
  inputs.user = config.user;
  inputs.workdir = config.working_dir;
  inputs.shell = config.shell;
  if (const auto* run = std::get_if<df::RunCommand>(&command)) {
    // What RUN sees of ENV and ARG is its process environment; COPY and
    // WORKDIR only see variables through their expanded text.
    inputs.environment = stage.run_env();
    std::sort(inputs.environment.begin(), inputs.environment.end());
    if (!add_run(session, sources, inputs, *run, step)) return std::nullopt;
  } else if (const auto* copy = std::get_if<df::CopyCommand>(&command)) {
    if (!add_copy(session, sources, inputs, *copy, step)) return std::nullopt;
  } else {
    inputs.instruction = "WORKDIR";  // the directory is `workdir`, already set by the step
  }
  std::sort(inputs.secrets.begin(), inputs.secrets.end());
  std::sort(inputs.cache_mounts.begin(), inputs.cache_mounts.end());
  return cache::step_key(*stage.cache_key, inputs);
}

oci::Digest metadata_step_key(const StageState& stage, std::string_view instruction) {
  // The config without history and dates: what later steps can observe.
  image::ImageConfig config = stage.image;
  config.created.clear();
  config.history.clear();
  config.diff_ids.clear();
  return cache::fold_key(*stage.cache_key, std::string(instruction) + "\n" + image::serialize_image_config(config));
}

}  // namespace strata::engine::build
