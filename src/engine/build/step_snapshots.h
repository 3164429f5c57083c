// The filesystems of one build's steps: each step mounts the layers below it
// (a Snapshotter overlay with a fresh upper dir), runs, and is committed:
// unmounted, its upper dir written as a layer blob, and the upper dir kept as
// the lower dir of the steps above (it is already in overlay whiteout form).
// Mounts used only to read (COPY --from a stage) are discarded.
//
// A layer may come without a dir (a layer found in the build cache, not yet
// downloaded): prepare() then asks the layer fetcher set with
// fetch_layers_with() for it, so a cached layer is only downloaded when a
// step actually runs on top of it. A cache layer that cannot be fetched or
// fails its checks is CACHE_LAYER_UNAVAILABLE (the stage then runs again
// without the cache).
//
// Contract: every mount this object made is unmounted and removed, upper dirs
// included, when it is destroyed (or by discard_all, which reports errors),
// so a build leaves no mount behind whichever way it ends. Mount ids are
// "<prefix>-<n>" and unique within the build. Not thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/build/image_layer.h"
#include "engine/layer/layer_writer.h"
#include "engine/snapshot/snapshotter.h"

namespace strata::engine::build {

class StepSnapshots {
 public:
  StepSnapshots(const snapshot::Snapshotter& snapshots, std::string id_prefix, std::filesystem::path blob_dir,
                layer::LayerWriteOptions layer_options);
  ~StepSnapshots();
  StepSnapshots(const StepSnapshots&) = delete;
  StepSnapshots& operator=(const StepSnapshots&) = delete;

  // Where an undownloaded layer's unpacked dir is (fetching it if needed).
  using LayerFetcher = std::function<Result<std::filesystem::path>(const ImageLayer&)>;
  void fetch_layers_with(LayerFetcher fetcher) { fetcher_ = std::move(fetcher); }

  // RUN steps' mounts are made for a container in the build's user
  // namespace through these views (container_views.h); unset, every mount
  // is plain. Borrowed; must outlive this object.
  void map_containers_with(const snapshot::MappedAccess* access) { mapped_ = access; }

  // Who will use a mount: the builder's own file operations (COPY, reading
  // a stage) or a RUN step's container.
  enum class User { builder, container };

  // Mounts `layers` (lowest first) under a fresh upper dir.
  Result<snapshot::Mount> prepare(const std::vector<ImageLayer>& layers, User user = User::builder);

  // Unmounts and turns the upper dir into a layer, without the directories
  // the step only copied up (unchanged_dirs.h); nullopt (and the upper dir
  // removed) when the step changed nothing.
  Result<std::optional<ImageLayer>> commit(const snapshot::Mount& mount);

  // Unmounts and removes the mount and its upper dir.
  Result<void> discard(const snapshot::Mount& mount);

  // Discards every mount still held; the first error is returned.
  Result<void> discard_all();

 private:
  const snapshot::Snapshotter& snapshots_;
  std::string prefix_;
  std::filesystem::path blob_dir_;
  layer::LayerWriteOptions layer_options_;
  std::size_t next_ = 0;
  std::vector<snapshot::Mount> held_;
  std::map<std::string, std::vector<std::filesystem::path>> parents_of_;  // mount id -> its lower dirs
  LayerFetcher fetcher_;
  const snapshot::MappedAccess* mapped_ = nullptr;
};

}  // namespace strata::engine::build
