// The builder's work dir on the host, shared by the builds that run there:
//
//   <root>/snapshots/             Snapshotter root: base layers unpacked once, step mounts
//   <root>/runc/                  runc state (--root)
//   <root>/bundles/               per-RUN bundles (removed after each run)
//   <root>/cache-mounts/<scope>/  RUN --mount=type=cache dirs, kept across builds
//   <root>/builds/<id>/           this build's layer blobs and downloads
//   <root>/networks/<id>/         this build's network namespaces and /etc files
//   <root>/trash/                 finished build dirs waiting to be deleted
//
// Every builder holds a shared flock on <root>/builders.lock while it runs.
// One that finds no other holder (an exclusive lock succeeds) sweeps what a
// crashed builder left: its mounts and unfinished unpacks, network
// namespaces, stale build dirs.
//
// Contract: open() creates the layout; the destructor moves builds/<id> to
// trash/ and drops the lock. Not copyable; not thread-safe (owned by the build).
// Deleting a build's files can take seconds (thousands of small files on a
// disk mounted with `discard`), so finished dirs go to trash/ (and the
// snapshotter's to snapshots/trash/) and reap_trash() deletes them in a
// detached process once the builder has reported its result.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"
#include "engine/snapshot/snapshotter.h"

namespace strata::engine::build {

class WorkDir {
 public:
  static Result<WorkDir> open(const std::filesystem::path& root, std::string_view build_id);
  ~WorkDir();
  WorkDir(WorkDir&& other) noexcept;
  WorkDir& operator=(WorkDir&&) = delete;
  WorkDir(const WorkDir&) = delete;

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path snapshots() const { return root_ / "snapshots"; }
  std::filesystem::path runc_state() const { return root_ / "runc"; }
  std::filesystem::path bundles() const { return root_ / "bundles"; }
  std::filesystem::path cache_mounts() const { return root_ / "cache-mounts"; }
  // This build's private scratch dir (blobs, downloads).
  const std::filesystem::path& build_dir() const { return build_dir_; }
  // This build's network dir (exec/build_network.h), made on first use.
  std::filesystem::path network_dir() const { return root_ / "networks" / build_dir_.filename(); }

 private:
  WorkDir(std::filesystem::path root, std::filesystem::path build_dir, int lock_fd)
      : root_(std::move(root)), build_dir_(std::move(build_dir)), lock_fd_(lock_fd) {}

  std::filesystem::path root_;
  std::filesystem::path build_dir_;
  int lock_fd_ = -1;
};

// Starts a detached `rm -rf` of everything in <root>/trash and
// <root>/snapshots/trash, and returns without waiting for it.
void reap_trash(const std::filesystem::path& root);

}  // namespace strata::engine::build
