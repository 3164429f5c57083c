// Layer reader: libarchive's tar reader pulls the uncompressed stream from a
// DecompressedBlobSource; LayerApplier turns each entry into filesystem
// changes below a RootedDir.
#include "engine/layer/layer_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "engine/layer/decompressed_blob_source.h"
#include "engine/layer/file_descriptor.h"
#include "engine/layer/rooted_dir.h"
#include "engine/layer/whiteouts.h"

namespace strata::engine::layer {
namespace {

// xattrs have no *at() calls; naming the file through its parent's
// descriptor keeps the lookup on the directory we already resolved safely.
std::string proc_path(int dir_fd, const std::string& name) {
  return fmt::format("/proc/self/fd/{}/{}", dir_fd, name);
}

class LayerApplier {
 public:
  LayerApplier(RootedDir root, ApplyMode mode)
      : root_(std::move(root)), mode_(mode), set_owner_(::geteuid() == 0) {}

  Result<void> apply(archive* a, archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) return fail("LAYER_INVALID", "layer entry has no path");
    auto path = clean_layer_path(raw);
    if (!path) return std::unexpected(path.error());
    if (path->empty()) return apply_attributes_to_root(e);
    auto [parent, name] = split_parent(*path);
    if (name == kOpaqueMarker) return apply_opaque(parent);
    if (name.starts_with(kWhiteoutPrefix))
      return apply_whiteout(parent, name.substr(kWhiteoutPrefix.size()));
    if (auto ok = create(a, e, *path, parent, name); !ok) return ok;
    mark_written(*path);
    return {};
  }

  // The read callback's error, reported instead of libarchive's summary of it.
  void remember_read_error(Error error) { read_error_ = std::move(error); }
  std::unexpected<Error> read_failure(archive* a) { return archive_failure(a, "entry header"); }

  // Directory times last: creating children changes them.
  Result<void> finish() {
    for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
      auto [parent, name] = it->first.empty() ? std::pair<std::string, std::string>{"", "."}
                                              : split_parent(it->first);
      auto dir = root_.find_dir(parent);
      if (!dir) return std::unexpected(dir.error());
      if (!*dir) continue;  // removed later in the same layer
      if (auto ok = set_time(dir->value().get(), name, it->second, it->first); !ok) return ok;
    }
    return {};
  }

 private:
  // Records a written path and its ancestors, so an opaque marker anywhere in
  // the layer spares what the layer itself wrote.
  void mark_written(std::string path) {
    while (!path.empty() && written_.insert(path).second) path = split_parent(path).first;
  }

  Result<void> apply_opaque(const std::string& dir_rel) {
    if (mode_ == ApplyMode::overlay_lower) {
      auto dir = root_.make_dir(dir_rel);
      if (!dir) return std::unexpected(dir.error());
      mark_written(dir_rel);
      if (::lsetxattr(proc_path(dir->get(), ".").c_str(), kOverlayOpaqueXattr.data(), "y", 1, 0) != 0)
        return errno_error("mark directory opaque", dir_rel);
      return {};
    }
    auto dir = root_.find_dir(dir_rel);
    if (!dir) return std::unexpected(dir.error());
    if (!*dir) return {};
    return remove_lower_children(dir->value().get(), dir_rel);
  }

  Result<void> remove_lower_children(int dir_o_path, const std::string& dir_rel) {
    UniqueFd dir(::openat(dir_o_path, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return errno_error("open directory", dir_rel);
    auto children = list_directory(dir.get(), dir_rel);
    if (!children) return std::unexpected(children.error());
    for (const auto& child : *children) {
      std::string child_rel = join_path(dir_rel, child);
      if (!written_.contains(child_rel)) {
        if (auto ok = RootedDir::remove_at(dir.get(), child, child_rel); !ok) return ok;
        continue;
      }
      struct stat st;
      if (::fstatat(dir.get(), child.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno_error("stat", child_rel);
      if (!S_ISDIR(st.st_mode)) continue;
      UniqueFd sub(::openat(dir.get(), child.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return errno_error("open directory", child_rel);
      if (auto ok = remove_lower_children(sub.get(), child_rel); !ok) return ok;
    }
    return {};
  }

  Result<void> apply_whiteout(const std::string& parent_rel, const std::string& target) {
    if (target.empty()) return fail("LAYER_INVALID", "whiteout names no file", parent_rel);
    std::string target_rel = join_path(parent_rel, target);
    // A whiteout only hides lower layers, never what this layer wrote.
    if (written_.contains(target_rel)) return {};
    if (mode_ == ApplyMode::flatten) {
      auto parent = root_.find_dir(parent_rel);
      if (!parent) return std::unexpected(parent.error());
      if (!*parent) return {};
      return RootedDir::remove_at(parent->value().get(), target, target_rel);
    }
    auto parent = root_.make_dir(parent_rel);
    if (!parent) return std::unexpected(parent.error());
    if (::mknodat(parent->get(), target.c_str(), S_IFCHR, makedev(0, 0)) != 0 && errno != EEXIST)
      return errno_error("create overlay whiteout", target_rel);
    return {};
  }

  Result<void> create(archive* a, archive_entry* e, const std::string& path,
                      const std::string& parent_rel, const std::string& name) {
    auto parent = root_.make_dir(parent_rel);
    if (!parent) return std::unexpected(parent.error());
    int dir = parent->get();
    const char* hardlink = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    bool merge_dir = false;
    struct stat existing;
    if (::fstatat(dir, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
      merge_dir = S_ISDIR(existing.st_mode) && type == AE_IFDIR && hardlink == nullptr;
      if (!merge_dir)
        if (auto ok = RootedDir::remove_at(dir, name, path); !ok) return ok;
    } else if (errno != ENOENT) {
      return errno_error("stat", path);
    }

    if (hardlink != nullptr) return create_hardlink(dir, name, path, hardlink);
    Result<void> made;
    switch (type) {
      case AE_IFREG: made = create_file(a, e, dir, name, path); break;
      case AE_IFDIR:
        if (!merge_dir && ::mkdirat(dir, name.c_str(), 0700) != 0)
          made = errno_error("create directory", path);
        break;
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (::symlinkat(target ? target : "", dir, name.c_str()) != 0)
          made = errno_error("create symlink", path);
        break;
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
        if (::mknodat(dir, name.c_str(), type | 0600,
                      makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e))) != 0)
          made = errno_error("create device or fifo", path);
        break;
      default:
        made = fail("LAYER_INVALID", "layer entry has an unsupported file type", path);
    }
    if (!made) return made;
    return apply_attributes(e, dir, name, path);
  }

  Result<void> create_hardlink(int dir, const std::string& name, const std::string& path,
                               const char* raw_target) {
    auto target = clean_layer_path(raw_target);
    if (!target) return std::unexpected(target.error());
    if (target->empty()) return fail("LAYER_INVALID", "hard link to the root", path);
    auto [target_parent, target_name] = split_parent(*target);
    auto target_dir = root_.find_dir(target_parent);
    if (!target_dir) return std::unexpected(target_dir.error());
    // linkat without AT_SYMLINK_FOLLOW links a symlink itself, never its target.
    if (!*target_dir)
      return fail("LAYER_INVALID", "hard link target is missing", path + " -> " + *target);
    if (::linkat(target_dir->value().get(), target_name.c_str(), dir, name.c_str(), 0) != 0)
      return fail("LAYER_INVALID", fmt::format("cannot create hard link: {}", std::strerror(errno)),
                  path + " -> " + *target);
    return {};
  }

  Result<void> create_file(archive* a, archive_entry* e, int dir, const std::string& name,
                           const std::string& path) {
    UniqueFd fd(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return errno_error("create file", path);
    const void* block;
    size_t size;
    la_int64_t offset;
    for (;;) {
      int rc = archive_read_data_block(a, &block, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) return archive_failure(a, path);
      if (auto ok = write_all(fd.get(), block, size, path, offset); !ok) return ok;
    }
    // Sets the length when the entry ends in a hole (sparse tar entries).
    if (::ftruncate(fd.get(), archive_entry_size(e)) != 0) return errno_error("size file", path);
    if (fd.close() != 0) return errno_error("close file", path);
    return {};
  }

  std::unexpected<Error> archive_failure(archive* a, std::string_view path) {
    if (read_error_) return std::unexpected(*read_error_);
    const char* detail = archive_error_string(a);
    return fail("LAYER_INVALID", fmt::format("cannot read layer tar at {}", path),
                detail ? detail : "");
  }

  Result<void> apply_attributes_to_root(archive_entry* e) {
    if (archive_entry_filetype(e) != AE_IFDIR)
      return fail("LAYER_INVALID", "layer root entry is not a directory");
    auto root = root_.find_dir("");
    if (!root || !*root) return fail("IO", "unpack root vanished");
    return apply_attributes(e, root->value().get(), ".", "");
  }

  // Owner before mode (chown clears setuid/setgid), xattrs after chown (it
  // clears security.capability), times last.
  Result<void> apply_attributes(archive_entry* e, int dir, const std::string& name,
                                const std::string& path) {
    mode_t type = archive_entry_filetype(e);
    if (set_owner_ &&
        ::fchownat(dir, name.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                   static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error("set owner", path);
    if (type != AE_IFLNK && ::fchmodat(dir, name.c_str(), archive_entry_perm(e) & 07777, 0) != 0)
      return errno_error("set mode", path);
    if (auto ok = apply_xattrs(e, dir, name, path); !ok) return ok;
    timespec mtime{archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    if (type == AE_IFDIR) {
      dir_times_.emplace_back(path, mtime);
      return {};
    }
    return set_time(dir, name, mtime, path);
  }

  Result<void> apply_xattrs(archive_entry* e, int dir, const std::string& name,
                            const std::string& path) {
    if (archive_entry_xattr_reset(e) == 0) return {};
    std::string target = proc_path(dir, name);
    const char* key;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
      std::string_view k = key;
      if (!overlay_xattr_key(k).empty()) continue;
      // ENOTSUP: the target filesystem has no such namespace; the file is
      // still usable, as with tar --xattrs.
      if (::lsetxattr(target.c_str(), key, value, size, 0) != 0 && errno != ENOTSUP)
        return errno_error(fmt::format("set xattr {}", k), path);
    }
    return {};
  }

  static Result<void> set_time(int dir, const std::string& name, timespec mtime,
                               const std::string& path) {
    timespec times[2] = {mtime, mtime};
    if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error("set times", path);
    return {};
  }

  RootedDir root_;
  ApplyMode mode_;
  bool set_owner_;
  std::unordered_set<std::string> written_;
  std::vector<std::pair<std::string, timespec>> dir_times_;
  std::optional<Error> read_error_;
};

struct ReadContext {
  DecompressedBlobSource* source;
  LayerApplier* applier;
};

la_ssize_t read_from_source(archive* a, void* client, const void** buffer) {
  auto* ctx = static_cast<ReadContext*>(client);
  auto piece = ctx->source->next();
  if (!piece) {
    ctx->applier->remember_read_error(piece.error());
    archive_set_error(a, EIO, "%s", piece.error().message.c_str());
    return -1;
  }
  *buffer = piece->data();
  return static_cast<la_ssize_t>(piece->size());
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

Result<void> unpack(DecompressedBlobSource& source, LayerApplier& applier) {
  std::unique_ptr<archive, ArchiveDeleter> reader(archive_read_new());
  if (!reader) return fail("INTERNAL", "cannot allocate tar reader");
  archive* a = reader.get();
  ReadContext ctx{&source, &applier};
  if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
      archive_read_open(a, &ctx, nullptr, read_from_source, nullptr) != ARCHIVE_OK)
    return applier.read_failure(a);
  for (;;) {
    archive_entry* entry;
    int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    // ARCHIVE_WARN: e.g. a name not valid in this locale; the raw bytes are kept.
    if (rc < ARCHIVE_WARN) return applier.read_failure(a);
    if (auto ok = applier.apply(a, entry); !ok) return ok;
  }
  return applier.finish();
}

}  // namespace

Result<AppliedLayer> apply_layer(const std::filesystem::path& blob,
                                 const std::filesystem::path& target_dir,
                                 const ApplyOptions& options) {
  auto root = RootedDir::open(target_dir);
  if (!root) return std::unexpected(root.error());
  auto source = DecompressedBlobSource::open(blob);
  if (!source) return std::unexpected(source.error());
  LayerApplier applier(std::move(*root), options.mode);
  if (auto ok = unpack(*source, applier); !ok) return std::unexpected(ok.error());
  auto totals = source->finish();
  if (!totals) return std::unexpected(totals.error());
  if (options.expected_diff_id && *options.expected_diff_id != totals->diff_id)
    return fail("DIGEST_INVALID", "layer content does not match its diff-id",
                fmt::format("expected {}, got {}", options.expected_diff_id->str(),
                            totals->diff_id.str()));
  return AppliedLayer{totals->diff_id, source->compression(), totals->size};
}

}  // namespace strata::engine::layer
