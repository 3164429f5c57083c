// The builder's work dir on the host, shared by the builds that run there:
//
//   <root>/snapshots/             Snapshotter root: base layers unpacked once, step mounts
//   <root>/runc/                  runc state (--root)
//   <root>/bundles/               per-RUN bundles (removed after each run)
//   <root>/cache-mounts/<scope>/  RUN --mount=type=cache dirs, kept across builds
//   <root>/builds/<id>/           this build's own filesystem (build_volume.h: the
//                                 disk quota): its steps' mounts, layer blobs
//                                 and downloads; a plain dir without a quota
//   <root>/builds/<id>.img        that filesystem's image
//   <root>/builds/<id>.views/     idmapped views for its RUN steps (id_mapping.h)
//   <root>/networks/<id>/         this build's network namespaces and /etc files
//   <root>/trash/                 finished build dirs waiting to be deleted
//   /run/strata/<hash of root>/   where RUN steps' root filesystems are bound
//                                 for runc: a path container root (an
//                                 unprivileged host id) can walk, whatever
//                                 the permissions of the dirs above <root>
//
// Every builder holds a shared flock on <root>/builders.lock while it runs.
// One that finds no other holder (an exclusive lock succeeds) sweeps what a
// crashed builder left: its mounts and unfinished unpacks, stale build dirs,
// volumes and views, network namespaces.
//
// Contract: open() creates the layout; the destructor drops the build's
// volume (or moves a plain builds/<id> to trash/) and the lock. Not copyable; not thread-safe (owned by the build).
// Deleting a build's files can take seconds (thousands of small files on a
// disk mounted with `discard`), so finished dirs go to trash/ (and the
// snapshotter's to snapshots/trash/) and reap_trash() deletes them in a
// detached process once the builder has reported its result.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "engine/build/build_volume.h"
#include "engine/snapshot/snapshotter.h"

namespace strata::engine::build {

class WorkDir {
 public:
  // `disk_bytes`: the size of the build's own filesystem; 0 for none.
  static Result<WorkDir> open(const std::filesystem::path& root, std::string_view build_id,
                              std::int64_t disk_bytes = 0);
  ~WorkDir();
  WorkDir(WorkDir&& other) noexcept;
  WorkDir& operator=(WorkDir&&) = delete;
  WorkDir(const WorkDir&) = delete;

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path snapshots() const { return root_ / "snapshots"; }
  std::filesystem::path runc_state() const { return root_ / "runc"; }
  std::filesystem::path bundles() const { return root_ / "bundles"; }
  std::filesystem::path cache_mounts() const { return root_ / "cache-mounts"; }
  std::filesystem::path rootfs_binds() const;
  // This build's private scratch dir (its steps' mounts, blobs, downloads).
  const std::filesystem::path& build_dir() const { return build_dir_; }
  std::filesystem::path step_mounts() const { return build_dir_ / "mounts"; }
  // Where this build's idmapped views are mounted.
  std::filesystem::path views() const { return build_dir_.string() + ".views"; }

  // The quota, when the build has one, and whether it has been used up.
  std::int64_t disk_quota() const { return volume_ ? volume_->bytes() : 0; }
  bool disk_exhausted() const { return volume_ && volume_->exhausted(); }
  // This build's network dir (exec/build_network.h), made on first use.
  std::filesystem::path network_dir() const { return root_ / "networks" / build_dir_.filename(); }

 private:
  WorkDir(std::filesystem::path root, std::filesystem::path build_dir, int lock_fd)
      : root_(std::move(root)), build_dir_(std::move(build_dir)), lock_fd_(lock_fd) {}

  std::filesystem::path root_;
  std::filesystem::path build_dir_;
  int lock_fd_ = -1;
  std::optional<BuildVolume> volume_;
};

// A short name for the work dir `root` (16 hex of its canonical path's
// SHA-256): host-wide names a builder makes (its rootfs binds dir under
// /run/strata, its build cgroups) carry it, so builders of different work
// dirs never collide on a build id.
std::string work_root_tag(const std::filesystem::path& root);

// Starts a detached `rm -rf` of everything in <root>/trash and
// <root>/snapshots/trash, and returns without waiting for it.
void reap_trash(const std::filesystem::path& root);

}  // namespace strata::engine::build
