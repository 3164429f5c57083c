// libarchive reads the archive (restricted to the tar format and the four
// compressions Docker accepts); NodeWriter writes each entry.
#include "engine/fs/archive_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <memory>

#include "engine/fs/root_path.h"
#include "engine/layer/file_descriptor.h"
#include "engine/layer/layer_path.h"

namespace strata::engine::fs {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveDeleter>;

// A tar reader over `fd` from its start; null when libarchive cannot open it.
Result<ArchiveReader> open_reader(int fd, std::string_view name) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return layer::errno_error("rewind", name);
  ArchiveReader reader(archive_read_new());
  if (!reader) return fail("INTERNAL", "cannot allocate archive reader");
  archive* a = reader.get();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) return ArchiveReader();
  return reader;
}

std::unexpected<Error> archive_failure(archive* a, std::string_view name) {
  const char* detail = archive_error_string(a);
  return fail("COPY_INVALID", "cannot read archive " + std::string(name), detail ? detail : "");
}

class ArchiveUnpacker {
 public:
  ArchiveUnpacker(archive* a, std::string_view name, NodeWriter& writer, const std::string& dest_rel,
                  const std::optional<Owner>& chown)
      : a_(a), name_(name), writer_(writer), dest_rel_(dest_rel), chown_(chown) {}

  Result<void> entry(archive_entry* e) {
    auto rel = inside_dest(archive_entry_pathname(e));
    if (!rel) return std::unexpected(rel.error());
    if (*rel == dest_rel_) return {};  // the archive's "./": the destination keeps its metadata
    if (const char* target = archive_entry_hardlink(e)) {
      auto existing = inside_dest(target);
      if (!existing) return std::unexpected(existing.error());
      return writer_.hard_link(*rel, *existing);
    }
    NodeAttributes attrs = attributes(e);
    mode_t type = archive_entry_filetype(e);
    switch (type) {
      case AE_IFDIR: return writer_.directory(*rel, attrs, NodeWriter::ExistingDir::take_metadata);
      case AE_IFREG:
        return writer_.file(*rel, attrs, [&](int fd, std::string_view path) { return write_data(e, fd, path); });
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        return writer_.symlink(*rel, target ? target : "", attrs);
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
        return writer_.special(*rel, type, makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e)), attrs);
      default:
        return fail("COPY_INVALID", "archive entry has an unsupported file type", *rel);
    }
  }

 private:
  Result<std::string> inside_dest(const char* raw) const {
    auto clean = clean_in_root(raw ? raw : "");
    if (!clean)
      return fail("COPY_INVALID", "archive " + std::string(name_) + " has an entry outside its destination",
                  raw ? raw : "");
    return clean->empty() ? dest_rel_ : layer::join_path(dest_rel_, *clean);
  }

  NodeAttributes attributes(archive_entry* e) const {
    NodeAttributes attrs;
    attrs.mode = archive_entry_perm(e) & 07777;
    attrs.owner = chown_.value_or(Owner{static_cast<std::uint32_t>(archive_entry_uid(e)),
                                        static_cast<std::uint32_t>(archive_entry_gid(e))});
    attrs.mtime = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    if (archive_entry_xattr_reset(e) > 0) {
      const char* key;
      const void* value;
      size_t size;
      while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK)
        attrs.xattrs.emplace_back(key, std::string(static_cast<const char*>(value), size));
    }
    return attrs;
  }

  Result<void> write_data(archive_entry* e, int fd, std::string_view path) {
    // Seeks over holes of sparse entries instead of writing zeros.
    if (archive_read_data_into_fd(a_, fd) < ARCHIVE_WARN) return archive_failure(a_, name_);
    // Sets the length when the entry ends in a hole.
    if (::ftruncate(fd, archive_entry_size(e)) != 0) return layer::errno_error("size file", path);
    return {};
  }

  archive* a_;
  std::string_view name_;
  NodeWriter& writer_;
  const std::string& dest_rel_;
  const std::optional<Owner>& chown_;
};

}  // namespace

Result<bool> is_tar_archive(int fd) {
  auto reader = open_reader(fd, "source");
  if (!reader) return std::unexpected(reader.error());
  if (!*reader) return false;
  archive_entry* entry;
  // An empty tar (only the end marker) has nothing to extract: Docker, too,
  // only calls a file an archive when its first header reads.
  int rc = archive_read_next_header(reader->get(), &entry);
  return rc == ARCHIVE_OK || rc == ARCHIVE_WARN;
}

Result<void> unpack_archive(int fd, std::string_view name, NodeWriter& writer, const std::string& dest_rel,
                            const std::optional<Owner>& chown) {
  auto reader = open_reader(fd, name);
  if (!reader) return std::unexpected(reader.error());
  if (!*reader) return fail("COPY_INVALID", "cannot open archive " + std::string(name));
  archive* a = reader->get();
  ArchiveUnpacker unpacker(a, name, writer, dest_rel, chown);
  for (;;) {
    archive_entry* entry;
    int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) return {};
    // ARCHIVE_WARN: e.g. a name not valid in this locale; the raw bytes are kept.
    if (rc < ARCHIVE_WARN) return archive_failure(a, name);
    if (auto ok = unpacker.entry(entry); !ok) return ok;
  }
}

}  // namespace strata::engine::fs
