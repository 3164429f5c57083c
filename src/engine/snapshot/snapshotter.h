// Filesystem snapshots for build steps on the builder host, kept under one
// root directory:
//
//   <root>/layers/<diff-id hex>/   a base layer, unpacked once and shared by
//                                  every step and build that uses it
//   <mounts>/<id>/merged           a step's root filesystem (overlayfs)
//   <mounts>/<id>/upper            what the step wrote (the layer writer's input)
//   <mounts>/<id>/work             overlayfs scratch space
//   <mounts>/<id>/lower/<n>        symlinks to the parents (see below)
//   <mounts>/../trash/             discarded mounts, deleted later
//   <root>/tmp/                    unpacks in progress
//   <root>/empty/                  the lower dir of a FROM scratch step
//
// <mounts> is <root>/mounts unless the snapshotter is opened with a mounts
// dir of its own: a build puts its steps' mounts on its own size-limited
// filesystem (the disk quota) while sharing the unpacked base layers.
//
// Mounts for a container in a user namespace (a RUN step) see their layers
// through idmapped views (engine/exec/id_mapping.h): the caller passes a
// MappedAccess naming, for every directory the parents and the mount live
// under, an idmapped view of it, and the host ids of the mapped root. The
// overlay is then stacked on the views and mounted with the mapped root's
// filesystem ids, so what the container writes lands on disk with its
// in-container owners. Other mounts (COPY, reading a stage) stay plain.
//
// A step's filesystem is an overlayfs mount of its parents (unpacked layers or
// upper dirs of earlier steps) with a fresh upper dir. The mount is made with
// redirect_dir=off, metacopy=off and index=off so that the upper dir is always
// a plain diff the layer writer can tar: renamed lower dirs are copied up, and
// copied-up files hold their data.
//
// Parent count: overlayfs takes its options as one page (4096 bytes here) and
// stacks at most 500 lower dirs. To keep long layer paths out of that page,
// each parent is reached through a symlink lower/<n> and the mount is made by a
// short-lived child process whose working directory is the mount's dir, so the
// option string holds only "lower/17:...:lower/0"; about 500 parents fit.
//
// Contract: a Snapshotter is thread-safe, and several processes may share a
// root: layer() unpacks each diff-id at most once at a time (an exclusive
// flock per diff-id makes concurrent callers wait) and publishes it by rename,
// so a crash never leaves a partial layer visible. Mount ids must be unique
// among live mounts. Needs root (CAP_SYS_ADMIN) for mounting. Errors have
// codes SNAPSHOT_INVALID (bad diff-id, id or parent), SNAPSHOT_EXISTS (id in
// use), MOUNT (the kernel refused) or IO.
#pragma once

#include <cstddef>
#include <filesystem>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace strata::engine::snapshot {

// Idmapped views of the directories mounts are made from, and the host ids
// of container root under that mapping.
struct MappedAccess {
  struct View {
    std::filesystem::path real;  // canonical
    std::filesystem::path view;  // its idmapped view
  };
  std::vector<View> views;
  std::uint32_t root_uid = 0, root_gid = 0;

  // `real` as seen through the view of the directory it lies in; nullopt
  // when no view covers it.
  std::optional<std::filesystem::path> view_of(const std::filesystem::path& real) const;
};

// A step's mounted filesystem. `upper` outlives release(); discard() removes it.
struct Mount {
  std::string id;
  std::filesystem::path merged;  // the container's root filesystem
  std::filesystem::path upper;   // the step's changes
  std::filesystem::path work;    // overlayfs work dir
};

// Fills an empty directory with a layer's files. Called at most once per
// successful unpack; an error leaves nothing behind.
using Unpack = std::function<Result<void>(const std::filesystem::path& dir)>;

class Snapshotter {
 public:
  // Uses (and creates) the directory layout above under `root`, with the
  // mounts in `mounts` (default <root>/mounts).
  static Result<Snapshotter> open(const std::filesystem::path& root, const std::filesystem::path& mounts = {});

  const std::filesystem::path& root() const { return root_; }
  const std::filesystem::path& mounts() const { return mounts_; }

  // The directory holding the layer with `diff_id` ("sha256:<64 hex>"),
  // calling `unpack` to fill it if it is not there yet.
  Result<std::filesystem::path> layer(std::string_view diff_id, const Unpack& unpack) const;

  // Mounts `parents` (lowest first; none for FROM scratch) under a fresh
  // upper dir as mount `id` ([A-Za-z0-9_.-], at most 64 characters); with
  // `mapped`, for a container in that user namespace (SNAPSHOT_INVALID if a
  // parent or the mount lies outside its views).
  Result<Mount> prepare(const std::vector<std::filesystem::path>& parents, std::string_view id,
                        const MappedAccess* mapped = nullptr) const;

  // Unmounts (lazily if the mount is busy) and removes everything of the
  // mount but its upper dir. Releasing an unmounted mount is not an error.
  Result<void> release(const Mount& mount) const;

  // Releases the mount if needed and removes its upper dir too.
  Result<void> discard(const Mount& mount) const;

  // Recovery after a crash: unmounts every mount under the root and the
  // mounts dir (found in /proc/self/mountinfo) and removes all mount dirs and
  // unfinished unpacks; unpacked layers stay. Returns how many mounts it unmounted. Only call it
  // when no other builder is using this root.
  Result<std::size_t> sweep() const;

 private:
  Snapshotter(std::filesystem::path root, std::filesystem::path mounts)
      : root_(std::move(root)), mounts_(std::move(mounts)) {}

  std::filesystem::path root_;
  std::filesystem::path mounts_;
};

}  // namespace strata::engine::snapshot
