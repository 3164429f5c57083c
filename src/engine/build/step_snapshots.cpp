#include "engine/build/step_snapshots.h"

#include <algorithm>

#include <fmt/format.h>

#include "engine/snapshot/unchanged_dirs.h"

namespace strata::engine::build {
namespace fs = std::filesystem;

StepSnapshots::StepSnapshots(const snapshot::Snapshotter& snapshots, std::string id_prefix, fs::path blob_dir,
                             layer::LayerWriteOptions layer_options)
    : snapshots_(snapshots), prefix_(std::move(id_prefix)), blob_dir_(std::move(blob_dir)),
      layer_options_(layer_options) {}

StepSnapshots::~StepSnapshots() { (void)discard_all(); }

Result<snapshot::Mount> StepSnapshots::prepare(const std::vector<ImageLayer>& layers, User user) {
  std::vector<fs::path> parents;
  parents.reserve(layers.size());
  for (const auto& layer : layers) {
    if (!layer.dir.empty()) {
      parents.push_back(layer.dir);
      continue;
    }
    if (!fetcher_) return fail("SNAPSHOT_INVALID", fmt::format("layer {} is not available", layer.blob.digest.str()));
    auto dir = fetcher_(layer);
    if (!dir && layer.from_cache)
      return fail("CACHE_LAYER_UNAVAILABLE",
                  fmt::format("cached layer {} cannot be used: {}", layer.blob.digest.str(), dir.error().message));
    if (!dir) return std::unexpected(dir.error());
    parents.push_back(*dir);
  }
  auto mount = snapshots_.prepare(parents, fmt::format("{}-{}", prefix_, ++next_),
                                  user == User::container ? mapped_ : nullptr);
  if (!mount) return std::unexpected(mount.error());
  held_.push_back(*mount);
  parents_of_[mount->id] = std::move(parents);
  return mount;
}

Result<std::optional<ImageLayer>> StepSnapshots::commit(const snapshot::Mount& mount) {
  if (auto released = snapshots_.release(mount); !released) return std::unexpected(released.error());
  if (auto pruned = snapshot::remove_unchanged_dirs(mount.upper, parents_of_[mount.id]); !pruned)
    return std::unexpected(pruned.error());
  std::error_code ec;
  fs::create_directories(blob_dir_, ec);
  fs::path blob = blob_dir_ / (mount.id + ".layer");
  auto written = layer::write_layer(mount.upper, blob, layer_options_);
  if (!written) return std::unexpected(written.error());
  if (!*written) {
    if (auto ok = discard(mount); !ok) return std::unexpected(ok.error());
    return std::nullopt;
  }
  const auto& info = **written;
  return ImageLayer{{std::string(info.media_type), info.digest, static_cast<std::int64_t>(info.size)},
                    info.diff_id, mount.upper, blob, std::nullopt, false};
}

Result<void> StepSnapshots::discard(const snapshot::Mount& mount) {
  auto result = snapshots_.discard(mount);
  std::erase_if(held_, [&](const snapshot::Mount& held) { return held.id == mount.id; });
  parents_of_.erase(mount.id);
  return result;
}

Result<void> StepSnapshots::discard_all() {
  Result<void> first;
  while (!held_.empty()) {
    auto ok = discard(held_.back());
    if (!ok && first) first = std::unexpected(ok.error());
  }
  return first;
}

}  // namespace strata::engine::build
