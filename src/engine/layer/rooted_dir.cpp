// Confined lookups with openat2(2) (Linux 5.6+), called through syscall(2)
// because glibc 2.36 has no wrapper.
#include "engine/layer/rooted_dir.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace strata::engine::layer {
namespace {

// The directory `rel` below root_fd; std::nullopt when it does not exist.
Result<std::optional<UniqueFd>> open_beneath(int root_fd, const std::string& rel,
                                            std::string_view root_path) {
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const char* name = rel.empty() ? "." : rel.c_str();
  for (;;) {
    long fd = ::syscall(SYS_openat2, root_fd, name, &how, sizeof how);
    if (fd >= 0) return std::optional<UniqueFd>(UniqueFd(static_cast<int>(fd)));
    if (errno == ENOENT) return std::nullopt;
    // EAGAIN: a concurrent rename raced the lookup; it is safe to retry.
    if (errno == EAGAIN || errno == EINTR) continue;
    if (errno == EXDEV || errno == ELOOP)
      return fail("LAYER_INVALID", "layer path leads outside the unpack root", rel);
    if (errno == ENOTDIR)
      return fail("LAYER_INVALID", "layer path goes through something that is not a directory",
                  rel);
    return errno_error("open directory", std::string(root_path) + "/" + rel);
  }
}

}  // namespace

Result<RootedDir> RootedDir::open(const std::filesystem::path& root) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("open unpack root", root.string());
  return RootedDir(std::move(fd), root.string());
}

Result<std::optional<UniqueFd>> RootedDir::find_dir(const std::string& rel) const {
  return open_beneath(fd_.get(), rel, path_);
}

Result<UniqueFd> RootedDir::make_dir(const std::string& rel) const {
  auto found = find_dir(rel);
  if (!found) return std::unexpected(found.error());
  if (*found) return std::move(**found);
  // Create the missing tail one level at a time, each level looked up again
  // under the same confinement.
  auto [parent_rel, name] = split_parent(rel);
  auto parent = make_dir(parent_rel);
  if (!parent) return std::unexpected(parent.error());
  if (::mkdirat(parent->get(), name.c_str(), 0755) != 0 && errno != EEXIST)
    return errno_error("create directory", path_ + "/" + rel);
  auto created = open_beneath(fd_.get(), rel, path_);
  if (!created) return std::unexpected(created.error());
  if (!*created) return fail("IO", "directory vanished right after it was created", rel);
  return std::move(**created);
}

Result<void> RootedDir::remove_at(int dir_fd, const std::string& name, std::string_view path) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return errno_error("stat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd dir(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) return errno_error("open directory", path);
    auto children = list_directory(dir.get(), path);
    if (!children) return std::unexpected(children.error());
    for (const auto& child : *children)
      if (auto ok = remove_at(dir.get(), child, path); !ok) return ok;
  }
  if (::unlinkat(dir_fd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 &&
      errno != ENOENT)
    return errno_error("remove", path);
  return {};
}

}  // namespace strata::engine::layer
