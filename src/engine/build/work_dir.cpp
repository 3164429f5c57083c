#include "engine/build/work_dir.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "engine/exec/build_network.h"
#include "engine/fs/mount_table.h"
#include "oci/digest.h"

namespace strata::engine::build {
namespace fs = std::filesystem;

std::string work_root_tag(const fs::path& root) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(root, ec);
  auto digest = oci::Digest::of(oci::DigestAlgorithm::sha256, (ec ? root : canonical).string());
  return digest.hex().substr(0, 16);
}

namespace {

Result<void> make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("IO", fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  return {};
}

// One dir per work root, so builders of different servers never sweep each
// other's binds.
fs::path rootfs_binds_of(const fs::path& root) { return fs::path("/run/strata") / work_root_tag(root); }

// With no other builder alive, nothing under the root is in use: unmount
// and remove what a killed builder left behind.
Result<void> sweep_leftovers(const fs::path& root) {
  auto snapshotter = snapshot::Snapshotter::open(root / "snapshots");
  if (!snapshotter) return std::unexpected(snapshotter.error());
  if (auto swept = snapshotter->sweep(); !swept) return std::unexpected(swept.error());
  exec::BuildNetwork::sweep(root / "networks");
  std::error_code ec;
  // Overlays and views on the builds' volumes first, then the volumes; only
  // then can their dirs go.
  if (fs::exists(root / "builds"))
    if (auto unmounted = engine::fs::unmount_all_under(fs::canonical(root / "builds", ec)); !unmounted)
      return std::unexpected(unmounted.error());
  sweep_build_volumes(root / "builds");
  fs::remove_all(root / "builds", ec);
  for (const fs::path& dir : {rootfs_binds_of(root), root / "cache-mounts"})
    if (fs::exists(dir))
      if (auto unmounted = engine::fs::unmount_all_under(fs::canonical(dir, ec)); !unmounted)
        return std::unexpected(unmounted.error());
  fs::remove_all(rootfs_binds_of(root), ec);
  fs::remove_all(root / "bundles", ec);
  // trash/ is left to reap_trash(): a finished builder's rm may still run.
  return {};
}

// A build id made safe as one path component.
std::string dir_name(std::string_view id) {
  std::string name;
  for (char c : id) name += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  return name.empty() ? "build" : name;
}

}  // namespace

Result<WorkDir> WorkDir::open(const fs::path& root, std::string_view build_id, std::int64_t disk_bytes) {
  if (auto ok = make_dirs(root); !ok) return std::unexpected(ok.error());
  fs::path lock_path = root / "builders.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail("IO", fmt::format("cannot open {}: {}", lock_path.string(), std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    auto swept = sweep_leftovers(root);
    if (!swept) {
      ::close(fd);
      return std::unexpected(swept.error());
    }
  }
  // Downgrading is not atomic, but a builder starting in between only finds
  // the lock taken and skips its own sweep.
  if (::flock(fd, LOCK_SH) != 0) {
    int err = errno;
    ::close(fd);
    return fail("IO", fmt::format("cannot lock {}: {}", lock_path.string(), std::strerror(err)));
  }
  WorkDir dir(root, root / "builds" / dir_name(build_id), fd);
  for (const fs::path& sub : {dir.snapshots(), dir.runc_state(), dir.bundles(), dir.cache_mounts(), root / "trash",
                              dir.rootfs_binds()})
    if (auto ok = make_dirs(sub); !ok) return std::unexpected(ok.error());
  for (const fs::path& walkable : {dir.rootfs_binds().parent_path(), dir.rootfs_binds()})
    ::chmod(walkable.c_str(), 0711);
  std::error_code ec;
  fs::remove_all(dir.build_dir_, ec);  // a previous run of the same build id
  if (disk_bytes > 0) {
    auto volume = BuildVolume::open(dir.build_dir_.string() + ".img", dir.build_dir_, disk_bytes);
    if (!volume) return std::unexpected(volume.error());
    dir.volume_.emplace(std::move(*volume));
  } else if (auto ok = make_dirs(dir.build_dir_); !ok) {
    return std::unexpected(ok.error());
  }
  return dir;
}

fs::path WorkDir::rootfs_binds() const { return rootfs_binds_of(root_); }

WorkDir::WorkDir(WorkDir&& other) noexcept
    : root_(std::move(other.root_)), build_dir_(std::move(other.build_dir_)), lock_fd_(std::exchange(other.lock_fd_, -1)),
      volume_(std::move(other.volume_)) {
  other.volume_.reset();
}

WorkDir::~WorkDir() {
  if (lock_fd_ < 0) return;
  if (volume_) {
    volume_.reset();  // an unmount and an unlink: nothing to leave for the reaper
    ::close(lock_fd_);
    return;
  }
  static std::atomic<unsigned> finished{0};
  auto target = root_ / "trash" / fmt::format("{}-{}-{}", build_dir_.filename().string(), ::getpid(), finished++);
  std::error_code ec;
  fs::rename(build_dir_, target, ec);
  if (ec) fs::remove_all(build_dir_, ec);
  ::close(lock_fd_);
}

void reap_trash(const fs::path& root) {
  std::vector<std::string> doomed;
  for (const fs::path& trash : {root / "trash", root / "snapshots" / "trash"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(trash, ec)) doomed.push_back(entry.path().string());
  }
  if (doomed.empty()) return;
  // sh backgrounds rm and exits at once; rm is then nobody's child to wait for.
  std::vector<std::string> args = {"/bin/sh", "-c", "rm -rf -- \"$@\" </dev/null >/dev/null 2>&1 &", "sh"};
  args.insert(args.end(), doomed.begin(), doomed.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  if (::posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv.data(), environ) == 0) ::waitpid(pid, nullptr, 0);
  posix_spawnattr_destroy(&attr);
}

}  // namespace strata::engine::build
