#include "engine/snapshot/snapshotter.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <linux/securebits.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "engine/fs/mount_table.h"

namespace strata::engine::snapshot {
namespace fs = std::filesystem;

namespace {

// overlayfs limits (fs/overlayfs/params.h: OVL_MAX_STACK) and the mount data
// page the options must fit in.
constexpr std::size_t kMaxParents = 500;

std::string errno_text(int err) { return std::error_code(err, std::system_category()).message(); }

Result<std::string> diff_id_hex(std::string_view diff_id) {
  constexpr std::string_view prefix = "sha256:";
  if (!diff_id.starts_with(prefix))
    return fail("SNAPSHOT_INVALID", fmt::format("diff-id {:?} is not sha256:<hex>", std::string(diff_id)));
  std::string_view hex = diff_id.substr(prefix.size());
  bool ok = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            });
  if (!ok) return fail("SNAPSHOT_INVALID", fmt::format("diff-id {:?} is not sha256:<64 lowercase hex>", std::string(diff_id)));
  return std::string(hex);
}

Result<void> check_mount_id(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 64 && id.front() != '.' &&
            std::all_of(id.begin(), id.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
            });
  if (!ok) return fail("SNAPSHOT_INVALID", fmt::format("mount id {:?} must be 1-64 of [A-Za-z0-9_.-], not starting with '.'", std::string(id)));
  return {};
}

Result<void> make_dir(const fs::path& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
    return fail("IO", fmt::format("cannot create {}: {}", dir.string(), errno_text(errno)));
  if (::chmod(dir.c_str(), mode) != 0)  // mkdir's mode is filtered by the umask
    return fail("IO", fmt::format("cannot chmod {}: {}", dir.string(), errno_text(errno)));
  return {};
}

// Holds an exclusive flock for its lifetime.
class FileLock {
 public:
  static Result<FileLock> acquire(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return fail("IO", fmt::format("cannot open lock {}: {}", path.string(), errno_text(errno)));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail("IO", fmt::format("cannot lock {}: {}", path.string(), errno_text(err)));
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing drops the flock
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

// Filesystem ids for the mount helper: overlayfs creates upper and work
// files with its mounter's credentials.
struct MounterIds {
  std::uint32_t uid, gid;
};

// mount(2) of `target` with an option string relative to `dir`, run in a
// child so that changing the working directory (and, with `as`, the
// filesystem ids, keeping the capabilities) does not affect the caller's
// other threads. The child only makes async-signal-safe system calls.
Result<void> mount_overlay_from(const fs::path& dir, const fs::path& target, const std::string& options,
                                std::optional<MounterIds> as = std::nullopt) {
  pid_t pid = ::fork();
  if (pid < 0) return fail("MOUNT", fmt::format("fork: {}", errno_text(errno)));
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(errno);
    if (as) {
      // Without NO_SETUID_FIXUP a non-zero fsuid drops the file capabilities.
      if (::prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP) != 0) ::_exit(errno);
      ::setfsgid(as->gid);
      ::setfsuid(as->uid);
      if (static_cast<std::uint32_t>(::setfsuid(static_cast<uid_t>(-1))) != as->uid) ::_exit(EPERM);
    }
    if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0) ::_exit(errno);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail("MOUNT", fmt::format("waitpid: {}", errno_text(errno)));
  }
  if (!WIFEXITED(status)) return fail("MOUNT", "the mount helper process was killed");
  if (int err = WEXITSTATUS(status); err != 0)
    return fail("MOUNT", fmt::format("cannot mount overlay at {}: {}", target.string(), errno_text(err)), options);
  return {};
}

// Unmounts `target`; a busy mount is detached and goes away when its last
// user does. Not being mounted is fine.
Result<void> unmount(const fs::path& target) {
  if (::umount2(target.c_str(), 0) == 0 || errno == EINVAL || errno == ENOENT) return {};
  if (errno == EBUSY && ::umount2(target.c_str(), MNT_DETACH) == 0) return {};
  return fail("MOUNT", fmt::format("cannot unmount {}: {}", target.string(), errno_text(errno)));
}

Result<void> remove_tree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return fail("IO", fmt::format("cannot remove {}: {}", path.string(), ec.message()));
  return {};
}

// Removes every entry of `dir` but keeps `dir`.
Result<void> empty_dir(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (auto removed = remove_tree(entry.path()); !removed) return removed;
  if (ec) return fail("IO", fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  return {};
}

Result<fs::path> canonical_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("IO", fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  // Canonical, so that it matches the mount points the kernel reports.
  fs::path canonical = fs::canonical(dir, ec);
  if (ec) return fail("IO", fmt::format("cannot resolve {}: {}", dir.string(), ec.message()));
  return canonical;
}

// Where discarded mounts go: beside the mounts dir, on the same filesystem.
fs::path trash_of(const fs::path& mounts) { return mounts.parent_path() / "trash"; }

}  // namespace

std::optional<fs::path> MappedAccess::view_of(const fs::path& real) const {
  for (const auto& [dir, view] : views) {
    auto [dir_end, real_it] = std::mismatch(dir.begin(), dir.end(), real.begin(), real.end());
    if (dir_end != dir.end()) continue;
    fs::path mapped = view;
    for (; real_it != real.end(); ++real_it) mapped /= *real_it;
    return mapped;
  }
  return std::nullopt;
}

Result<Snapshotter> Snapshotter::open(const fs::path& root, const fs::path& mounts) {
  auto canonical = canonical_dir(root);
  if (!canonical) return std::unexpected(canonical.error());
  for (const char* sub : {"layers", "tmp", "locks", "empty"})
    if (auto made = make_dir(*canonical / sub, sub == std::string_view("empty") ? 0755 : 0700); !made)
      return std::unexpected(made.error());
  auto mounts_dir = canonical_dir(mounts.empty() ? *canonical / "mounts" : mounts);
  if (!mounts_dir) return std::unexpected(mounts_dir.error());
  // Container root (an unmapped host id) must be able to walk to a mount's
  // merged dir, and to nothing else there.
  for (const fs::path& dir : {*mounts_dir, trash_of(*mounts_dir)})
    if (auto made = make_dir(dir, dir == *mounts_dir ? 0711 : 0700); !made) return std::unexpected(made.error());
  return Snapshotter(std::move(*canonical), std::move(*mounts_dir));
}

Result<fs::path> Snapshotter::layer(std::string_view diff_id, const Unpack& unpack) const {
  auto hex = diff_id_hex(diff_id);
  if (!hex) return std::unexpected(hex.error());
  fs::path dir = root_ / "layers" / *hex;
  if (fs::is_directory(dir)) return dir;

  auto lock = FileLock::acquire(root_ / "locks" / *hex);
  if (!lock) return std::unexpected(lock.error());
  if (fs::is_directory(dir)) return dir;  // unpacked while we waited

  std::string pattern = (root_ / "tmp" / (*hex + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return fail("IO", fmt::format("cannot create a temporary dir in {}: {}", (root_ / "tmp").string(), errno_text(errno)));
  fs::path staging = pattern;
  auto filled = make_dir(staging, 0755);
  if (filled) filled = unpack(staging);
  if (filled && ::rename(staging.c_str(), dir.c_str()) != 0)
    filled = fail("IO", fmt::format("cannot move layer into {}: {}", dir.string(), errno_text(errno)));
  if (!filled) {
    (void)remove_tree(staging);
    return std::unexpected(filled.error());
  }
  return dir;
}

Result<Mount> Snapshotter::prepare(const std::vector<fs::path>& parents, std::string_view id,
                                   const MappedAccess* mapped) const {
  if (auto ok = check_mount_id(id); !ok) return std::unexpected(ok.error());
  if (parents.size() > kMaxParents)
    return fail("SNAPSHOT_INVALID", fmt::format("{} parent layers; overlayfs stacks at most {}", parents.size(), kMaxParents));
  std::vector<fs::path> lowers;
  for (const auto& parent : parents) {
    std::error_code ec;
    fs::path resolved = fs::canonical(parent, ec);
    if (ec || !fs::is_directory(resolved))
      return fail("SNAPSHOT_INVALID", fmt::format("parent layer {} is not a directory", parent.string()));
    lowers.push_back(std::move(resolved));
  }
  if (lowers.empty()) lowers.push_back(root_ / "empty");

  fs::path dir = mounts_ / std::string(id);
  // What the mount helper reaches: the views, for a container's mount.
  fs::path helper_dir = dir;
  if (mapped) {
    for (auto& lower : lowers) {
      auto view = mapped->view_of(lower);
      if (!view) return fail("SNAPSHOT_INVALID", fmt::format("parent layer {} has no idmapped view", lower.string()));
      lower = std::move(*view);
    }
    auto view = mapped->view_of(dir);
    if (!view) return fail("SNAPSHOT_INVALID", fmt::format("mount dir {} has no idmapped view", dir.string()));
    helper_dir = std::move(*view);
  }
  if (::mkdir(dir.c_str(), 0711) != 0) {
    if (errno == EEXIST) return fail("SNAPSHOT_EXISTS", fmt::format("mount {:?} already exists", std::string(id)));
    return fail("IO", fmt::format("cannot create {}: {}", dir.string(), errno_text(errno)));
  }
  Mount mount{std::string(id), dir / "merged", dir / "upper", dir / "work"};

  auto made = make_dir(dir / "lower", 0700);
  for (std::size_t i = 0; made && i < lowers.size(); ++i)
    if (::symlink(lowers[i].c_str(), (dir / "lower" / std::to_string(i)).c_str()) != 0)
      made = fail("IO", fmt::format("cannot link parent {}: {}", lowers[i].string(), errno_text(errno)));
  // Top-most lower dir first, as overlayfs expects.
  std::string options = "lowerdir=";
  for (std::size_t i = lowers.size(); i-- > 0;) options += fmt::format("lower/{}{}", i, i == 0 ? "" : ":");
  options += ",upperdir=upper,workdir=work,redirect_dir=off,metacopy=off,index=off";
  if (made) made = make_dir(mount.upper, 0755);
  if (made) made = make_dir(mount.work, 0700);
  if (made) made = make_dir(mount.merged, 0755);
  if (made && options.size() >= static_cast<std::size_t>(::getpagesize()))
    made = fail("SNAPSHOT_INVALID", fmt::format("{} parent layers do not fit in one overlayfs mount", lowers.size()));
  if (made && mapped) made = mount_overlay_from(helper_dir, mount.merged, options, MounterIds{mapped->root_uid, mapped->root_gid});
  else if (made) made = mount_overlay_from(dir, mount.merged, options);
  if (!made) {
    (void)remove_tree(dir);
    return std::unexpected(made.error());
  }
  return mount;
}

Result<void> Snapshotter::release(const Mount& mount) const {
  if (auto unmounted = unmount(mount.merged); !unmounted) return unmounted;
  // rmdir, never a recursive remove: if the overlay were still mounted, that
  // would delete through it.
  if (::rmdir(mount.merged.c_str()) != 0 && errno != ENOENT)
    return fail("IO", fmt::format("cannot remove {}: {}", mount.merged.string(), errno_text(errno)));
  if (auto removed = remove_tree(mount.work); !removed) return removed;
  return remove_tree(mount.upper.parent_path() / "lower");
}

Result<void> Snapshotter::discard(const Mount& mount) const {
  if (auto released = release(mount); !released) return released;
  // Deleting thousands of files takes seconds on a disk mounted with
  // `discard`; a rename into trash/ is instant and the builder empties the
  // trash after it has reported its result (see reap_trash).
  auto dir = mount.upper.parent_path();
  static std::atomic<unsigned> discarded{0};
  auto target = trash_of(mounts_) / fmt::format("{}-{}-{}", dir.filename().string(), ::getpid(), discarded++);
  if (::rename(dir.c_str(), target.c_str()) == 0) return {};
  return remove_tree(dir);
}

Result<std::size_t> Snapshotter::sweep() const {
  std::size_t unmounted = 0;
  for (const fs::path& dir : {mounts_, root_}) {
    auto count = engine::fs::unmount_all_under(dir);
    if (!count) return std::unexpected(count.error());
    unmounted += *count;
  }
  for (const fs::path& dir : {mounts_, root_ / "tmp"})
    if (auto emptied = empty_dir(dir); !emptied) return std::unexpected(emptied.error());
  return unmounted;
}

}  // namespace strata::engine::snapshot
