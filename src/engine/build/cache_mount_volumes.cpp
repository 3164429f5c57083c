#include "engine/build/cache_mount_volumes.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "engine/build/build_volume.h"

namespace strata::engine::build {
namespace fs = std::filesystem;

namespace {

Result<UniqueFd> lock_file(const fs::path& path, int operation) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return fail("IO", fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  while (::flock(fd.get(), operation) != 0) {
    if (errno == EINTR) continue;
    return fail("IO", fmt::format("cannot lock {}: {}", path.string(), std::strerror(errno)));
  }
  return fd;
}

// A mount point is on another device than its parent dir.
bool is_mount_point(const fs::path& dir) {
  struct stat self {}, parent {};
  return ::stat(dir.c_str(), &self) == 0 && ::stat(dir.parent_path().c_str(), &parent) == 0 &&
         self.st_dev != parent.st_dev;
}

}  // namespace

Result<fs::path> CacheMountVolumes::dir_for(const std::string& scope) {
  fs::path dir = root_ / scope;
  if (bytes_ <= 0 || users_.contains(scope)) return dir;
  auto guard = lock_file(root_ / (scope + ".lock"), LOCK_EX);
  if (!guard) return std::unexpected(guard.error());
  if (!is_mount_point(dir)) {
    fs::path image = root_ / (scope + ".img");
    if (!fs::exists(image)) {
      // A plain dir from before quotas: its content is only a cache.
      std::error_code ec;
      fs::remove_all(dir, ec);
      if (auto made = create_volume_image(image, bytes_); !made) return std::unexpected(made.error());
    }
    if (auto mounted = mount_volume_image(image, dir); !mounted) return std::unexpected(mounted.error());
  }
  auto users = lock_file(root_ / (scope + ".users"), LOCK_SH);
  if (!users) return std::unexpected(users.error());
  users_.emplace(scope, std::move(*users));
  return dir;
}

bool CacheMountVolumes::exhausted() const {
  for (const auto& [scope, users] : users_)
    if (volume_exhausted(root_ / scope, bytes_)) return true;
  return false;
}

CacheMountVolumes::~CacheMountVolumes() {
  for (auto& [scope, users] : users_) {
    auto guard = lock_file(root_ / (scope + ".lock"), LOCK_EX);
    if (!guard) continue;
    users.reset();  // drop our shared lock
    auto last = ::open((root_ / (scope + ".users")).c_str(), O_RDWR | O_CLOEXEC);
    if (last < 0) continue;
    if (::flock(last, LOCK_EX | LOCK_NB) == 0) ::umount2((root_ / scope).c_str(), MNT_DETACH);
    ::close(last);
  }
}

}  // namespace strata::engine::build
