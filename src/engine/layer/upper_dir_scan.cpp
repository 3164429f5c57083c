// Upper-dir scan: lstat every path, translate overlay whiteout conventions,
// sort, then link entries that share an inode.
#include "engine/layer/upper_dir_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <string_view>
#include <utility>

#include "engine/layer/file_descriptor.h"
#include "engine/layer/layer_path.h"
#include "engine/layer/whiteouts.h"

namespace strata::engine::layer {
namespace {

constexpr std::string_view kCapabilityXattr = "security.capability";

struct Xattrs {
  bool opaque = false;
  bool overlay_indirection = false;  // metacopy or redirect: the data lives elsewhere
  std::optional<std::string> capability;
};

Result<std::optional<std::string>> read_xattr(const std::string& path, const std::string& name) {
  std::string value(256, '\0');
  for (;;) {
    ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (n >= 0) {
      value.resize(static_cast<std::size_t>(n));
      return value;
    }
    if (errno == ENODATA) return std::nullopt;
    if (errno != ERANGE) return errno_error("read xattr " + name, path);
    ssize_t needed = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (needed < 0) return errno_error("read xattr " + name, path);
    value.resize(static_cast<std::size_t>(needed));
  }
}

Result<std::vector<std::string>> list_xattrs(const std::string& path) {
  std::string names;
  for (;;) {
    ssize_t needed = ::llistxattr(path.c_str(), nullptr, 0);
    if (needed < 0) {
      if (errno == ENOTSUP) return std::vector<std::string>{};
      return errno_error("list xattrs", path);
    }
    if (needed == 0) return std::vector<std::string>{};
    names.resize(static_cast<std::size_t>(needed));
    ssize_t n = ::llistxattr(path.c_str(), names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<std::size_t>(n));
      break;
    }
    if (errno != ERANGE) return errno_error("list xattrs", path);  // ERANGE: grew meanwhile
  }
  std::vector<std::string> out;
  for (std::size_t start = 0; start < names.size();) {
    std::size_t end = names.find('\0', start);
    if (end == std::string::npos) end = names.size();
    out.emplace_back(names, start, end - start);
    start = end + 1;
  }
  return out;
}

Result<Xattrs> read_relevant_xattrs(const std::string& path) {
  auto names = list_xattrs(path);
  if (!names) return std::unexpected(names.error());
  Xattrs found;
  for (const auto& name : *names) {
    if (name == kCapabilityXattr) {
      auto value = read_xattr(path, name);
      if (!value) return std::unexpected(value.error());
      found.capability = std::move(*value);
      continue;
    }
    std::string_view key = overlay_xattr_key(name);
    if (key == "metacopy" || key == "redirect") found.overlay_indirection = true;
    if (key == "opaque") {
      auto value = read_xattr(path, name);
      if (!value) return std::unexpected(value.error());
      // Only "y" means opaque; newer kernels write "x" for a dir that merely
      // holds xwhiteouts.
      found.opaque = found.opaque || *value == "y";
    }
  }
  return found;
}

LayerEntry marker(std::string tar_path) {
  LayerEntry e;
  e.kind = LayerEntry::Kind::whiteout;
  e.tar_path = std::move(tar_path);
  return e;
}

class UpperDirScan {
 public:
  explicit UpperDirScan(std::string root) : root_(std::move(root)) {}

  Result<std::vector<LayerEntry>> run() {
    if (auto ok = scan_dir(""); !ok) return std::unexpected(ok.error());
    std::ranges::sort(entries_, {}, &LayerEntry::tar_path);
    link_shared_inodes();
    return std::move(entries_);
  }

 private:
  Result<void> scan_dir(const std::string& rel_dir) {
    std::string dir_path = rel_dir.empty() ? root_ : root_ + "/" + rel_dir;
    UniqueFd dir(::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) return errno_error("open directory", dir_path);
    auto names = list_directory(dir.get(), dir_path);
    if (!names) return std::unexpected(names.error());
    for (const auto& name : *names)
      if (auto ok = scan_path(rel_dir, name); !ok) return ok;
    return {};
  }

  Result<void> scan_path(const std::string& rel_dir, const std::string& name) {
    std::string rel = join_path(rel_dir, name);
    std::string path = root_ + "/" + rel;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return errno_error("stat", path);

    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
      entries_.push_back(marker(join_path(rel_dir, std::string(kWhiteoutPrefix) + name)));
      return {};
    }
    if (name.starts_with(kWhiteoutPrefix))
      return fail("LAYER_UNSUPPORTED",
                  "names starting with \".wh.\" are reserved for OCI whiteouts and cannot be "
                  "stored in a layer",
                  rel);
    if (S_ISSOCK(st.st_mode)) return {};

    auto xattrs = read_relevant_xattrs(path);
    if (!xattrs) return std::unexpected(xattrs.error());
    if (xattrs->overlay_indirection)
      return fail("LAYER_UNSUPPORTED",
                  "upper dir holds overlay metacopy/redirect metadata; mount the step's "
                  "overlay with metacopy=off,redirect_dir=off",
                  rel);

    LayerEntry e;
    e.tar_path = rel;
    e.source_path = path;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime = st.st_mtim.tv_sec;
    e.capability = std::move(xattrs->capability);
    if (S_ISREG(st.st_mode)) {
      e.kind = LayerEntry::Kind::regular;
      e.size = static_cast<std::uint64_t>(st.st_size);
      if (st.st_nlink > 1) inode_of_[rel] = {st.st_dev, st.st_ino};
    } else if (S_ISDIR(st.st_mode)) {
      e.kind = LayerEntry::Kind::directory;
    } else if (S_ISLNK(st.st_mode)) {
      e.kind = LayerEntry::Kind::symlink;
      auto target = read_link(path, static_cast<std::size_t>(st.st_size));
      if (!target) return std::unexpected(target.error());
      e.link_target = std::move(*target);
    } else {
      e.kind = S_ISCHR(st.st_mode)   ? LayerEntry::Kind::character_device
               : S_ISBLK(st.st_mode) ? LayerEntry::Kind::block_device
                                     : LayerEntry::Kind::fifo;
      e.device_major = major(st.st_rdev);
      e.device_minor = minor(st.st_rdev);
      if (st.st_nlink > 1) inode_of_[rel] = {st.st_dev, st.st_ino};
    }
    entries_.push_back(std::move(e));

    if (S_ISDIR(st.st_mode)) {
      if (xattrs->opaque) entries_.push_back(marker(join_path(rel, kOpaqueMarker)));
      return scan_dir(rel);
    }
    return {};
  }

  static Result<std::string> read_link(const std::string& path, std::size_t size_hint) {
    std::string target(size_hint + 1, '\0');
    for (;;) {
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return errno_error("read symlink", path);
      if (static_cast<std::size_t>(n) < target.size()) {
        target.resize(static_cast<std::size_t>(n));
        return target;
      }
      target.resize(target.size() * 2);
    }
  }

  // In sorted order, the first path of an inode carries the data; later
  // paths become hard links to it, so extraction always sees the target first.
  void link_shared_inodes() {
    std::map<std::pair<dev_t, ino_t>, std::string> first_path;
    for (auto& e : entries_) {
      auto it = inode_of_.find(e.tar_path);
      if (it == inode_of_.end() || e.source_path.empty()) continue;
      auto [first, inserted] = first_path.try_emplace(it->second, e.tar_path);
      if (inserted) continue;
      e.kind = LayerEntry::Kind::hardlink;
      e.link_target = first->second;
      e.size = 0;
    }
  }

  std::string root_;
  std::vector<LayerEntry> entries_;
  std::map<std::string, std::pair<dev_t, ino_t>> inode_of_;  // multiply-linked files
};

}  // namespace

Result<std::vector<LayerEntry>> scan_upper_dir(const std::filesystem::path& upper_dir) {
  struct stat st;
  if (::lstat(upper_dir.c_str(), &st) != 0) return errno_error("stat upper dir", upper_dir.string());
  if (!S_ISDIR(st.st_mode))
    return fail("IO", "upper dir is not a directory", upper_dir.string());
  return UpperDirScan(upper_dir.string()).run();
}

}  // namespace strata::engine::layer
