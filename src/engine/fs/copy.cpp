// COPY/ADD as one pass: every source is resolved (and every URL fetched)
// before the first write, so a missing source fails the step with the image
// untouched; then each source is written through one NodeWriter.
#include "engine/fs/copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <variant>

#include "engine/fs/archive_unpack.h"
#include "engine/fs/image_root.h"
#include "engine/fs/node_writer.h"
#include "engine/fs/root_path.h"
#include "engine/fs/source_selection.h"
#include "engine/fs/url_download.h"
#include "engine/layer/layer_path.h"

namespace strata::engine::fs {
namespace {

using layer::errno_error;
using layer::join_path;

// `COPY a b /dir/`, `COPY a .` (joined to "/app/."), `COPY a /`.
bool names_directory(std::string_view dest) {
  return dest.ends_with('/') || dest.ends_with("/.") || dest == ".";
}

timespec now_clamped(const std::optional<std::int64_t>& epoch, std::optional<timespec> when = std::nullopt) {
  timespec t{};
  if (when) t = *when;
  else ::clock_gettime(CLOCK_REALTIME, &t);
  if (epoch && t.tv_sec >= *epoch) t = timespec{static_cast<time_t>(*epoch), 0};
  return t;
}

// Extended attributes of the file open at `fd` (any kind of descriptor).
Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(int fd, std::string_view path) {
  std::vector<std::pair<std::string, std::string>> xattrs;
  // The /proc link reaches the file behind an O_PATH descriptor too.
  std::string proc = fmt::format("/proc/self/fd/{}", fd);
  ssize_t size = ::listxattr(proc.c_str(), nullptr, 0);
  if (size < 0) return errno == ENOTSUP ? xattrs : Result<decltype(xattrs)>(errno_error("list xattrs", path));
  std::string names(static_cast<std::size_t>(size), '\0');
  size = ::listxattr(proc.c_str(), names.data(), names.size());
  if (size < 0) return errno_error("list xattrs", path);
  names.resize(static_cast<std::size_t>(size));
  for (std::size_t at = 0; at < names.size(); at = names.find('\0', at) + 1) {
    std::string name = names.c_str() + at;
    ssize_t len = ::getxattr(proc.c_str(), name.c_str(), nullptr, 0);
    if (len < 0) return errno_error("read xattr " + name, path);
    std::string value(static_cast<std::size_t>(len), '\0');
    len = ::getxattr(proc.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0) return errno_error("read xattr " + name, path);
    value.resize(static_cast<std::size_t>(len));
    xattrs.emplace_back(std::move(name), std::move(value));
  }
  return xattrs;
}

Result<std::string> read_symlink(int fd, std::string_view path) {
  std::string target(4096, '\0');
  ssize_t n = ::readlinkat(fd, "", target.data(), target.size());
  if (n < 0) return errno_error("read symlink", path);
  target.resize(static_cast<std::size_t>(n));
  return target;
}

struct InlineSource {
  const InlineFile* file;
};
struct LocalSource {
  SelectedSource selected;
};
using SourceItem = std::variant<LocalSource, DownloadedFile, InlineSource>;

class CopyOperation {
 public:
  CopyOperation(const ImageRoot& dest_root, std::string dest_rel, bool dest_is_dir,
                const CopySource& source, const CopyOptions& options)
      : dest_root_(dest_root),
        dest_rel_(std::move(dest_rel)),
        dest_is_dir_(dest_is_dir),
        source_(source),
        options_(options),
        writer_(dest_root, options.chown.value_or(Owner{})) {}

  Result<void> run(const ImageRoot* source_root, std::vector<SourceItem>& items) {
    if (dest_is_dir_) {
      auto dir = dest_root_.make_dirs(dest_rel_, options_.chown.value_or(Owner{}));
      if (!dir) return std::unexpected(dir.error());
    }
    for (auto& item : items) {
      Result<void> ok;
      if (auto* local = std::get_if<LocalSource>(&item)) ok = copy_local(*source_root, local->selected);
      else if (auto* remote = std::get_if<DownloadedFile>(&item)) ok = write_download(*remote);
      else ok = write_inline(*std::get<InlineSource>(item).file);
      if (!ok) return ok;
    }
    return writer_.finish();
  }

 private:
  // Where a non-directory source named `name` lands: inside the destination
  // when it is (or names) a directory, else at the destination itself.
  Result<std::string> file_target(const std::string& name) {
    bool into = dest_is_dir_;
    if (!into) {
      auto existing = dest_root_.open(dest_rel_, O_PATH | O_DIRECTORY);
      if (!existing) return std::unexpected(existing.error());
      into = existing->has_value();
    }
    if (!into) return dest_rel_;
    if (name.empty()) return fail("COPY_INVALID", "cannot determine a file name for the source; name the destination file");
    return join_path(dest_rel_, name);
  }

  NodeAttributes attributes_of(const struct stat& st) const {
    NodeAttributes attrs;
    attrs.mode = options_.chmod && !S_ISLNK(st.st_mode) ? *options_.chmod : st.st_mode & 07777;
    attrs.owner = options_.chown.value_or(source_.is_context ? Owner{} : Owner{st.st_uid, st.st_gid});
    attrs.mtime = st.st_mtim;
    return attrs;
  }

  Result<void> copy_local(const ImageRoot& root, const SelectedSource& selected) {
    const SourceEntry& top = selected.entries.front();
    if (S_ISDIR(top.st.st_mode)) {
      for (const auto& entry : selected.entries)
        if (auto ok = copy_entry(root, join_path(selected.real, entry.rel), entry,
                                 entry.rel.empty() ? dest_rel_ : join_path(dest_rel_, entry.rel));
            !ok)
          return ok;
      return {};
    }
    if (options_.add && S_ISREG(top.st.st_mode)) {
      auto fd = open_source(root, selected.real, O_RDONLY);
      if (!fd) return std::unexpected(fd.error());
      auto archive = is_tar_archive(fd->get());
      if (!archive) return std::unexpected(archive.error());
      if (*archive) {
        // An archive always unpacks into a directory, trailing '/' or not.
        auto dir = dest_root_.make_dirs(dest_rel_, options_.chown.value_or(Owner{}));
        if (!dir) return std::unexpected(dir.error());
        return unpack_archive(fd->get(), selected.name, writer_, dest_rel_, options_.chown);
      }
    }
    auto target = file_target(selected.name);
    if (!target) return std::unexpected(target.error());
    return copy_entry(root, selected.real, top, *target);
  }

  static Result<UniqueFd> open_source(const ImageRoot& root, const std::string& rel, int flags) {
    auto fd = root.open(rel, flags | O_NOFOLLOW);
    if (!fd) return std::unexpected(fd.error());
    if (!*fd) return fail("IO", "source file vanished while copying", rel);
    return std::move(**fd);
  }

  Result<void> copy_entry(const ImageRoot& root, const std::string& source_rel, const SourceEntry& entry,
                          const std::string& target) {
    const struct stat& st = entry.st;
    std::pair<dev_t, ino_t> inode{st.st_dev, st.st_ino};
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, first] = links_.emplace(inode, target);
      if (!first) return writer_.hard_link(target, it->second);
    }
    NodeAttributes attrs = attributes_of(st);
    bool is_file = S_ISREG(st.st_mode);
    auto fd = open_source(root, source_rel, is_file ? O_RDONLY : O_PATH);
    if (!fd) return std::unexpected(fd.error());
    if (S_ISLNK(st.st_mode)) {
      auto link = read_symlink(fd->get(), source_rel);
      if (!link) return std::unexpected(link.error());
      return writer_.symlink(target, *link, attrs);
    }
    auto xattrs = read_xattrs(fd->get(), source_rel);
    if (!xattrs) return std::unexpected(xattrs.error());
    attrs.xattrs = std::move(*xattrs);
    if (S_ISDIR(st.st_mode))
      return writer_.directory(target, attrs,
                               target == dest_rel_ ? NodeWriter::ExistingDir::keep_metadata
                                                   : NodeWriter::ExistingDir::take_metadata);
    if (is_file) return writer_.file(target, attrs, contents_of_fd(fd->get()));
    return writer_.special(target, st.st_mode & S_IFMT, st.st_rdev, attrs);
  }

  Result<void> write_download(DownloadedFile& download) {
    auto target = file_target(download.name);
    if (!target) return std::unexpected(target.error());
    NodeAttributes attrs;
    attrs.mode = options_.chmod.value_or(0600);
    attrs.owner = options_.chown.value_or(Owner{});
    attrs.mtime = now_clamped(options_.source_date_epoch, download.last_modified);
    return writer_.file(*target, attrs, contents_of_fd(download.fd.get()));
  }

  Result<void> write_inline(const InlineFile& file) {
    auto target = file_target(file.name);
    if (!target) return std::unexpected(target.error());
    NodeAttributes attrs;
    attrs.mode = options_.chmod.value_or(0644);
    attrs.owner = options_.chown.value_or(Owner{});
    attrs.mtime = now_clamped(options_.source_date_epoch);
    return writer_.file(*target, attrs, contents_of_bytes(file.content));
  }

  const ImageRoot& dest_root_;
  std::string dest_rel_;
  bool dest_is_dir_;
  const CopySource& source_;
  const CopyOptions& options_;
  NodeWriter writer_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // first target of each multiply-linked inode
};

// Every source of the instruction, in the order written.
Result<std::vector<SourceItem>> gather_sources(const ImageRoot* source_root, const CopySource& source,
                                               const CopyOptions& options) {
  std::vector<SourceItem> items;
  for (const auto& pattern : source.patterns) {
    if (is_remote_source(pattern)) {
      if (!options.add) return fail("COPY_INVALID", "source can't be a URL for COPY: " + pattern);
      if (!options.allow_network)
        return fail("COPY_INVALID", "ADD " + pattern + ": fetching a URL needs network access (network_mode "
                                    "egress); this build is isolated");
      auto file = download(pattern, options.url_connect_check);
      if (!file) return std::unexpected(file.error());
      items.emplace_back(std::move(*file));
      continue;
    }
    auto selected = select_sources(*source_root, pattern, source.is_context,
                                   source.is_context ? source.ignore : nullptr);
    if (!selected) return std::unexpected(selected.error());
    for (auto& one : *selected) items.emplace_back(LocalSource{std::move(one)});
  }
  for (const auto& file : source.inline_files) items.emplace_back(InlineSource{&file});
  return items;
}

}  // namespace

Result<void> copy_into(const std::filesystem::path& rootfs, const std::string& dest,
                       const CopySource& source, const CopyOptions& options) {
  if (source.patterns.empty() && source.inline_files.empty())
    return fail("COPY_INVALID", "COPY needs at least one source");
  std::optional<ImageRoot> source_root;
  bool has_local = std::ranges::any_of(source.patterns, [](const auto& p) { return !is_remote_source(p); });
  if (has_local) {
    auto opened = ImageRoot::open(source.root);
    if (!opened) return std::unexpected(opened.error());
    source_root.emplace(std::move(*opened));
  }
  auto items = gather_sources(source_root ? &*source_root : nullptr, source, options);
  if (!items) return std::unexpected(items.error());
  bool dest_is_dir = names_directory(dest);
  if (items->size() > 1 && !dest_is_dir)
    return fail("COPY_INVALID",
                "When using COPY with more than one source file, the destination must be a directory and end with a /",
                dest);
  auto dest_root = ImageRoot::open(rootfs);
  if (!dest_root) return std::unexpected(dest_root.error());
  // dest is absolute in the image; cleaning "/" + dest can never climb out.
  CopyOperation operation(*dest_root, *clean_in_root("/" + dest), dest_is_dir, source, options);
  return operation.run(source_root ? &*source_root : nullptr, *items);
}

}  // namespace strata::engine::fs
