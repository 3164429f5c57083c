#include "engine/snapshot/snapshotter.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mount.h>
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

// mount(2) with a relative option string, run in a child so that changing the
// working directory does not affect the caller's other threads. The child
// only makes async-signal-safe system calls.
Result<void> mount_overlay_from(const fs::path& dir, const std::string& options) {
  pid_t pid = ::fork();
  if (pid < 0) return fail("MOUNT", fmt::format("fork: {}", errno_text(errno)));
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(errno);
    if (::mount("overlay", "merged", "overlay", 0, options.c_str()) != 0) ::_exit(errno);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail("MOUNT", fmt::format("waitpid: {}", errno_text(errno)));
  }
  if (!WIFEXITED(status)) return fail("MOUNT", "the mount helper process was killed");
  if (int err = WEXITSTATUS(status); err != 0)
    return fail("MOUNT", fmt::format("cannot mount overlay at {}: {}", (dir / "merged").string(), errno_text(err)),
                options);
  return {};
}

// Unmounts `target`; a busy mount is detached and goes away when its last
// user does. Not being mounted is fine.
Result<void> unmount(const fs::path& target) {
  if (::umount2(target.c_str(), 0) == 0 || errno == EINVAL || errno == ENOENT) return {};
  if (errno == EBUSY && ::umount2(target.c_str(), MNT_DETACH) == 0) return {};
  return fail("MOUNT", fmt::format("cannot unmount {}: {}", target.string(), errno_text(errno)));
}

// Mount points from /proc/self/mountinfo (5th field, octal escapes decoded).
std::vector<std::string> mount_points() {
  std::vector<std::string> points;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::size_t pos = 0;
    for (int field = 0; field < 4 && pos != std::string::npos; ++field) pos = line.find(' ', pos + 1);
    if (pos == std::string::npos) continue;
    std::size_t end = line.find(' ', pos + 1);
    std::string_view raw = std::string_view(line).substr(pos + 1, end - pos - 1);
    std::string point;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 3 < raw.size()) {
        point += static_cast<char>((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 + (raw[i + 3] - '0'));
        i += 3;
      } else {
        point += raw[i];
      }
    }
    points.push_back(std::move(point));
  }
  return points;
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

}  // namespace

Result<Snapshotter> Snapshotter::open(const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return fail("IO", fmt::format("cannot create {}: {}", root.string(), ec.message()));
  // Canonical, so that it matches the mount points the kernel reports.
  fs::path canonical = fs::canonical(root, ec);
  if (ec) return fail("IO", fmt::format("cannot resolve {}: {}", root.string(), ec.message()));
  for (const char* sub : {"layers", "mounts", "tmp", "locks", "empty", "trash"})
    if (auto made = make_dir(canonical / sub, sub == std::string_view("empty") ? 0755 : 0700); !made)
      return std::unexpected(made.error());
  return Snapshotter(std::move(canonical));
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

Result<Mount> Snapshotter::prepare(const std::vector<fs::path>& parents, std::string_view id) const {
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

  fs::path dir = root_ / "mounts" / std::string(id);
  if (::mkdir(dir.c_str(), 0700) != 0) {
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
  if (made) made = mount_overlay_from(dir, options);
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
  auto target = root_ / "trash" / fmt::format("{}-{}-{}", dir.filename().string(), ::getpid(), discarded++);
  if (::rename(dir.c_str(), target.c_str()) == 0) return {};
  return remove_tree(dir);
}

Result<std::size_t> Snapshotter::sweep() const {
  std::string prefix = root_.string() + "/";
  std::vector<std::string> ours;
  for (auto& point : mount_points())
    if (point.starts_with(prefix)) ours.push_back(std::move(point));
  // Deepest first, so nested mounts go before the ones they sit on.
  std::sort(ours.begin(), ours.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& point : ours)
    if (::umount2(point.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      return fail("MOUNT", fmt::format("cannot unmount {}: {}", point, errno_text(errno)));
  for (const char* sub : {"mounts", "tmp"})
    if (auto emptied = empty_dir(root_ / sub); !emptied) return std::unexpected(emptied.error());
  return ours.size();
}

}  // namespace strata::engine::snapshot
