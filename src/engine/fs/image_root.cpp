// Container-style lookups with openat2(2) RESOLVE_IN_ROOT (Linux 5.6+),
// called through syscall(2) because glibc 2.36 has no wrapper.
#include "engine/fs/image_root.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "engine/fs/root_path.h"
#include "engine/layer/layer_path.h"

namespace strata::engine::fs {
namespace {

Result<std::string> fd_path(int fd) {
  std::string link = fmt::format("/proc/self/fd/{}", fd);
  std::string target(4096, '\0');
  ssize_t n = ::readlink(link.c_str(), target.data(), target.size());
  if (n < 0) return layer::errno_error("read descriptor path", link);
  target.resize(static_cast<std::size_t>(n));
  return target;
}

}  // namespace

Result<ImageRoot> ImageRoot::open(const std::filesystem::path& root) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return layer::errno_error("open root filesystem", root.string());
  auto real = fd_path(fd.get());
  if (!real) return std::unexpected(real.error());
  return ImageRoot(std::move(fd), root, std::move(*real));
}

Result<std::optional<UniqueFd>> ImageRoot::open(const std::string& rel, int flags) const {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* name = rel.empty() ? "." : rel.c_str();
  for (;;) {
    long fd = ::syscall(SYS_openat2, fd_.get(), name, &how, sizeof how);
    if (fd >= 0) return std::optional<UniqueFd>(UniqueFd(static_cast<int>(fd)));
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    // EAGAIN: a concurrent rename raced the lookup; it is safe to retry.
    if (errno == EAGAIN || errno == EINTR) continue;
    return layer::errno_error("open", (path_ / rel).string());
  }
}

Result<UniqueFd> ImageRoot::make_dirs(const std::string& rel, Owner owner) const {
  return make_dirs(rel, owner, 0);
}

Result<UniqueFd> ImageRoot::make_dirs(const std::string& rel, Owner owner, int symlinks_followed) const {
  auto found = open(rel, O_PATH | O_DIRECTORY);
  if (!found) return std::unexpected(found.error());
  if (*found) return std::move(**found);
  if (rel.empty()) return fail("IO", "root filesystem vanished", path_.string());
  auto [parent_rel, name] = layer::split_parent(rel);
  auto parent = make_dirs(parent_rel, owner, symlinks_followed);
  if (!parent) return std::unexpected(parent.error());
  std::string shown = "/" + rel;
  if (::mkdirat(parent->get(), name.c_str(), 0755) == 0) {
    // Explicit mode: the process umask must not decide what the image holds.
    if (::fchownat(parent->get(), name.c_str(), owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0 ||
        ::fchmodat(parent->get(), name.c_str(), 0755, 0) != 0)
      return layer::errno_error("set owner and mode", shown);
  } else if (errno != EEXIST) {
    return layer::errno_error("create directory", shown);
  } else {
    // A dangling symlink: create what it points to, inside the root, as
    // BuildKit's copier does (`/evil -> ../../tmp/x` makes <root>/tmp/x).
    auto target = dangling_target(parent->get(), name);
    if (!target) return std::unexpected(target.error());
    if (*target) {
      if (symlinks_followed >= kMaxSymlinks) return fail("COPY_INVALID", "too many levels of symbolic links", shown);
      auto made = make_dirs(**target, owner, symlinks_followed + 1);
      if (!made) return std::unexpected(made.error());
    }
  }
  auto created = open(rel, O_PATH | O_DIRECTORY);
  if (!created) return std::unexpected(created.error());
  if (!*created) return fail("COPY_INVALID", "cannot create directory: a non-directory is in the way", shown);
  return std::move(**created);
}

Result<std::optional<std::string>> ImageRoot::dangling_target(int dir_fd, const std::string& name) const {
  std::string target(4096, '\0');
  ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
  if (n < 0) return errno == EINVAL ? Result<std::optional<std::string>>(std::nullopt)
                                    : layer::errno_error("read symlink", name);
  target.resize(static_cast<std::size_t>(n));
  auto dir = path_of(dir_fd);
  if (!dir) return std::unexpected(dir.error());
  // Relative targets start at the link's directory; ".." stops at the root.
  return clean_in_root(target.starts_with('/') ? target : "/" + *dir + "/" + target);
}

Result<std::string> ImageRoot::path_of(int fd) const {
  auto full = fd_path(fd);
  if (!full) return std::unexpected(full.error());
  if (*full == real_) return std::string();
  std::string prefix = real_ == "/" ? real_ : real_ + "/";
  if (!full->starts_with(prefix))
    return fail("IO", "descriptor is outside its root filesystem", *full);
  return full->substr(prefix.size());
}

}  // namespace strata::engine::fs
