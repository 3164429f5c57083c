// Filesystem snapshots for build steps on the builder host, kept under one
// root directory:
//
//   <root>/layers/<diff-id hex>/   a base layer, unpacked once and shared by
//                                  every step and build that uses it
//   <root>/mounts/<id>/merged      a step's root filesystem (overlayfs)
//   <root>/mounts/<id>/upper       what the step wrote (the layer writer's input)
//   <root>/mounts/<id>/work        overlayfs scratch space
//   <root>/mounts/<id>/lower/<n>   symlinks to the parents (see below)
//   <root>/tmp/                    unpacks in progress
//   <root>/empty/                  the lower dir of a FROM scratch step
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
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace strata::engine::snapshot {

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
  // Uses (and creates) the directory layout above under `root`.
  static Result<Snapshotter> open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }

  // The directory holding the layer with `diff_id` ("sha256:<64 hex>"),
  // calling `unpack` to fill it if it is not there yet.
  Result<std::filesystem::path> layer(std::string_view diff_id, const Unpack& unpack) const;

  // Mounts `parents` (lowest first; none for FROM scratch) under a fresh
  // upper dir as mount `id` ([A-Za-z0-9_.-], at most 64 characters).
  Result<Mount> prepare(const std::vector<std::filesystem::path>& parents, std::string_view id) const;

  // Unmounts (lazily if the mount is busy) and removes everything of the
  // mount but its upper dir. Releasing an unmounted mount is not an error.
  Result<void> release(const Mount& mount) const;

  // Releases the mount if needed and removes its upper dir too.
  Result<void> discard(const Mount& mount) const;

  // Recovery after a crash: unmounts every mount under the root (found in
  // /proc/self/mountinfo) and removes all mount dirs and unfinished unpacks;
  // unpacked layers stay. Returns how many mounts it unmounted. Only call it
  // when no other builder is using this root.
  Result<std::size_t> sweep() const;

 private:
  explicit Snapshotter(std::filesystem::path root) : root_(std::move(root)) {}

  std::filesystem::path root_;
};

}  // namespace strata::engine::snapshot
