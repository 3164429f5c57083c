// Node creation through *at() calls on parents resolved by ImageRoot; the
// name itself is never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW).
#include "engine/fs/node_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "engine/layer/layer_path.h"
#include "engine/layer/rooted_dir.h"
#include "engine/layer/whiteouts.h"

namespace strata::engine::fs {
namespace {

using layer::errno_error;

std::string shown(const std::string& rel) { return "/" + rel; }

// read/write for what copy_file_range cannot do (across filesystems on older
// kernels, pipes, special files).
Result<void> copy_by_reading(int from, int to, std::string_view path) {
  std::vector<char> buffer(1 << 17);
  for (;;) {
    ssize_t n = ::read(from, buffer.data(), buffer.size());
    if (n == 0) return {};
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read", path);
    }
    if (auto ok = layer::write_all(to, buffer.data(), static_cast<std::size_t>(n), path); !ok) return ok;
  }
}

}  // namespace

ContentWriter contents_of_fd(int from) {
  return [from](int to, std::string_view path) -> Result<void> {
    for (bool first = true;; first = false) {
      ssize_t n = ::copy_file_range(from, nullptr, to, nullptr, 1 << 30, 0);
      if (n == 0) return {};
      if (n > 0) continue;
      if (errno == EINTR) continue;
      // Nothing copied yet, so falling back cannot duplicate data.
      if (first && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
        return copy_by_reading(from, to, path);
      return errno_error("copy file data", path);
    }
  };
}

ContentWriter contents_of_bytes(std::string_view bytes) {
  return [bytes](int to, std::string_view path) { return layer::write_all(to, bytes.data(), bytes.size(), path); };
}

Result<void> NodeWriter::directory(const std::string& rel, const NodeAttributes& attrs,
                                   ExistingDir existing) {
  if (rel.empty()) return {};
  auto [parent_rel, name] = layer::split_parent(rel);
  auto parent = root_.make_dirs(parent_rel, parents_owner_);
  if (!parent) return std::unexpected(parent.error());
  struct stat st;
  if (::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode))
      return existing == ExistingDir::take_metadata ? apply(parent->get(), name, rel, false, true, attrs)
                                                    : Result<void>{};
    if (S_ISLNK(st.st_mode)) {
      // A symlink to a directory is entered, as `cp -r` into the container would.
      auto target = root_.open(rel, O_PATH | O_DIRECTORY);
      if (!target) return std::unexpected(target.error());
      if (*target) return {};
    }
    return fail("COPY_INVALID", "cannot copy a directory to a non-directory", shown(rel));
  }
  if (errno != ENOENT) return errno_error("stat", shown(rel));
  if (::mkdirat(parent->get(), name.c_str(), 0700) != 0) return errno_error("create directory", shown(rel));
  return apply(parent->get(), name, rel, false, true, attrs);
}

Result<void> NodeWriter::file(const std::string& rel, const NodeAttributes& attrs,
                              const ContentWriter& content) {
  auto [parent_rel, name] = layer::split_parent(rel);
  auto parent = clear_way(rel, name);
  if (!parent) return std::unexpected(parent.error());
  UniqueFd fd(::openat(parent->get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error("create file", shown(rel));
  if (auto ok = content(fd.get(), shown(rel)); !ok) return ok;
  if (fd.close() != 0) return errno_error("close file", shown(rel));
  return apply(parent->get(), name, rel, false, false, attrs);
}

Result<void> NodeWriter::symlink(const std::string& rel, const std::string& target,
                                 const NodeAttributes& attrs) {
  auto [parent_rel, name] = layer::split_parent(rel);
  auto parent = clear_way(rel, name);
  if (!parent) return std::unexpected(parent.error());
  if (::symlinkat(target.c_str(), parent->get(), name.c_str()) != 0)
    return errno_error("create symlink", shown(rel));
  return apply(parent->get(), name, rel, true, false, attrs);
}

Result<void> NodeWriter::special(const std::string& rel, mode_t type, dev_t device,
                                 const NodeAttributes& attrs) {
  auto [parent_rel, name] = layer::split_parent(rel);
  auto parent = clear_way(rel, name);
  if (!parent) return std::unexpected(parent.error());
  if (::mknodat(parent->get(), name.c_str(), type | 0600, device) != 0)
    return errno_error("create device or fifo", shown(rel));
  return apply(parent->get(), name, rel, false, false, attrs);
}

Result<void> NodeWriter::hard_link(const std::string& rel, const std::string& existing_rel) {
  auto [existing_parent_rel, existing_name] = layer::split_parent(existing_rel);
  auto existing_parent = root_.open(existing_parent_rel, O_PATH | O_DIRECTORY);
  if (!existing_parent) return std::unexpected(existing_parent.error());
  if (!*existing_parent)
    return fail("COPY_INVALID", "hard link target is missing", shown(rel) + " -> " + shown(existing_rel));
  auto [parent_rel, name] = layer::split_parent(rel);
  auto parent = clear_way(rel, name);
  if (!parent) return std::unexpected(parent.error());
  // Without AT_SYMLINK_FOLLOW a symlink is linked itself, never its target.
  if (::linkat(existing_parent->value().get(), existing_name.c_str(), parent->get(), name.c_str(), 0) != 0)
    return errno_error("create hard link", shown(rel) + " -> " + shown(existing_rel));
  return {};
}

Result<void> NodeWriter::finish() {
  for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
    auto [parent_rel, name] = layer::split_parent(it->first);
    auto parent = root_.open(parent_rel, O_PATH | O_DIRECTORY);
    if (!parent) return std::unexpected(parent.error());
    if (!*parent) continue;  // replaced later in the same COPY
    timespec times[2] = {it->second, it->second};
    if (::utimensat(parent->value().get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error("set times", shown(it->first));
  }
  dir_times_.clear();
  return {};
}

Result<UniqueFd> NodeWriter::clear_way(const std::string& rel, const std::string& name) {
  if (rel.empty()) return fail("COPY_INVALID", "cannot replace the root directory with a file");
  auto parent = root_.make_dirs(layer::split_parent(rel).first, parents_owner_);
  if (!parent) return std::unexpected(parent.error());
  if (auto ok = layer::RootedDir::remove_at(parent->get(), name, shown(rel)); !ok)
    return std::unexpected(ok.error());
  return std::move(*parent);
}

Result<void> NodeWriter::apply(int dir_fd, const std::string& name, const std::string& rel,
                               bool is_symlink, bool is_dir, const NodeAttributes& attrs) {
  if (::fchownat(dir_fd, name.c_str(), attrs.owner.uid, attrs.owner.gid, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error("set owner", shown(rel));
  if (!is_symlink && ::fchmodat(dir_fd, name.c_str(), attrs.mode & 07777, 0) != 0)
    return errno_error("set mode", shown(rel));
  if (!is_symlink && !attrs.xattrs.empty()) {
    // xattrs have no *at() calls; the parent's descriptor keeps the lookup confined.
    std::string target = fmt::format("/proc/self/fd/{}/{}", dir_fd, name);
    for (const auto& [key, value] : attrs.xattrs) {
      if (!layer::overlay_xattr_key(key).empty()) continue;
      // ENOTSUP: the target filesystem has no such namespace; the file is
      // still usable, as with cp -a.
      if (::lsetxattr(target.c_str(), key.c_str(), value.data(), value.size(), 0) != 0 && errno != ENOTSUP)
        return errno_error(fmt::format("set xattr {}", key), shown(rel));
    }
  }
  if (attrs.mtime.tv_nsec == UTIME_NOW) return {};
  if (is_dir) {
    dir_times_.emplace_back(rel, attrs.mtime);
    return {};
  }
  timespec times[2] = {attrs.mtime, attrs.mtime};
  if (::utimensat(dir_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error("set times", shown(rel));
  return {};
}

}  // namespace strata::engine::fs
