// Source archive checks and extraction. Every entry is judged by the checks
// here before libarchive's disk writer sees it, with paths rewritten to
// absolute paths under the destination; the writer's own secure-extraction
// flags stay on as a second line of defence. A map of every path seen so far
// answers "is this a regular file extracted earlier" for hard links and "is
// every parent a real directory" for all entries.
#include "common/unique_fd.h"
#include "builds/source_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace strata::builds {
namespace {

namespace fs = std::filesystem;

std::unexpected<Error> refuse(std::string_view entry, std::string_view reason) {
  return fail("SOURCE_INVALID", fmt::format("source archive entry '{}': {}", entry, reason));
}

std::unexpected<Error> io_error(std::string what, int err) {
  return fail("IO", fmt::format("{}: {}", what, std::strerror(err)));
}

// A descriptor closed when it goes out of scope.

// Feeds the archive file to libarchive, hashing every byte on the way, so the
// digest costs no second pass over a large upload.
class HashingFileSource {
 public:
  explicit HashingFileSource(int fd) : fd_(fd), buffer_(64 * 1024) {}

  static la_ssize_t read_callback(struct archive*, void* self, const void** out) {
    auto* source = static_cast<HashingFileSource*>(self);
    *out = source->buffer_.data();
    return source->read_next();
  }

  // Hashes what libarchive left unread after the end-of-archive marker.
  Result<void> drain() {
    while (read_next() > 0) {
    }
    if (read_errno_ != 0) return io_error("cannot read source archive", read_errno_);
    return {};
  }

  int read_errno() const { return read_errno_; }
  std::uint64_t bytes() const { return digester_.bytes(); }
  oci::Digest finish() { return digester_.finish(); }

 private:
  la_ssize_t read_next() {
    ssize_t n;
    do n = ::read(fd_, buffer_.data(), buffer_.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      read_errno_ = errno;
      return -1;
    }
    digester_.update(buffer_.data(), static_cast<std::size_t>(n));
    return n;
  }

  int fd_;
  std::vector<char> buffer_;
  oci::Digester digester_;
  int read_errno_ = 0;
};

// The components of a '/'-separated path, without empty and "." ones.
std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::size_t pos = 0; pos <= path.size();) {
    std::size_t slash = std::min(path.find('/', pos), path.size());
    std::string_view part = path.substr(pos, slash - pos);
    if (!part.empty() && part != ".") parts.push_back(part);
    pos = slash + 1;
  }
  return parts;
}

// An entry name as a clean relative path ("./a//b/" -> "a/b", "." -> ""), or
// why it is refused.
std::expected<std::string, std::string> clean_entry_path(std::string_view raw, std::string_view role,
                                                         const SourceLimits& limits) {
  if (raw.size() > limits.max_path_bytes)
    return std::unexpected(fmt::format("{} is longer than {} bytes", role, limits.max_path_bytes));
  if (raw.starts_with('/')) return std::unexpected(fmt::format("{} is an absolute path", role));
  std::string clean;
  for (std::string_view part : components(raw)) {
    if (part == "..") return std::unexpected(fmt::format("{} contains '..'", role));
    if (part.size() > limits.max_name_bytes)
      return std::unexpected(fmt::format("{} has a component longer than {} bytes", role, limits.max_name_bytes));
    if (!clean.empty()) clean += '/';
    clean += part;
  }
  return clean;
}

// Whether symlink `link` (a clean path) pointing at relative `target` stays
// inside the context when resolved lexically from the link's directory.
bool stays_inside(std::string_view link, std::string_view target) {
  std::size_t depth = std::ranges::count(link, '/');  // components of the link's directory
  for (std::string_view part : components(target)) {
    if (part != "..") {
      ++depth;
    } else if (depth-- == 0) {
      return false;
    }
  }
  return true;
}

enum class NodeKind { directory, file, symlink };

// Every path the archive has created so far, explicitly or as a parent.
class ContextTree {
 public:
  // Refuses `path`, saying why, when a parent is not a directory or it was
  // given before (directories may repeat); records it and its parents otherwise.
  std::expected<void, std::string> add(const std::string& path, NodeKind kind) {
    for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      auto [it, inserted] = nodes_.try_emplace(path.substr(0, slash), NodeKind::directory);
      if (it->second != NodeKind::directory)
        return std::unexpected(fmt::format("its parent '{}' is not a directory", it->first));
    }
    auto [it, inserted] = nodes_.try_emplace(path, kind);
    if (!inserted && !(it->second == NodeKind::directory && kind == NodeKind::directory))
      return std::unexpected("appears more than once in the archive");
    return {};
  }

  bool is_file(const std::string& path) const {
    auto it = nodes_.find(path);
    return it != nodes_.end() && it->second == NodeKind::file;
  }

 private:
  std::unordered_map<std::string, NodeKind> nodes_;
};

std::string entry_name(archive_entry* entry) {
  if (const char* name = archive_entry_pathname(entry)) return name;
  if (const char* name = archive_entry_pathname_utf8(entry)) return name;
  return {};
}

// Checks one entry and rewrites it for the disk writer: absolute paths under
// `root`, owner-independent modes. Returns its kind, or nullopt for the
// context root itself, which has nothing to create.
Result<std::optional<NodeKind>> admit_entry(archive_entry* entry, const std::string& name, const fs::path& root,
                                            ContextTree& tree, const SourceLimits& limits) {
  auto path = clean_entry_path(name, "name", limits);
  if (!path) return refuse(name.substr(0, 200), path.error());
  NodeKind kind;
  if (const char* link = archive_entry_hardlink(entry)) {
    auto target = clean_entry_path(link, "hard link target", limits);
    if (!target) return refuse(name, target.error());
    if (!tree.is_file(*target))
      return refuse(name, fmt::format("hard link to '{}', which is not a file earlier in the archive", link));
    archive_entry_set_hardlink(entry, (root / *target).c_str());
    kind = NodeKind::file;
  } else {
    switch (archive_entry_filetype(entry)) {
      case AE_IFREG: kind = NodeKind::file; break;
      case AE_IFDIR: kind = NodeKind::directory; break;
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(entry);
        std::string_view to = target ? target : "";
        if (to.empty()) return refuse(name, "symlink with an empty target");
        if (to.size() > limits.max_path_bytes) return refuse(name, "symlink target is too long");
        if (to.starts_with('/')) return refuse(name, fmt::format("symlink to absolute path '{}'", to));
        if (!stays_inside(*path, to))
          return refuse(name, fmt::format("symlink to '{}' points outside the build context", to));
        kind = NodeKind::symlink;
        break;
      }
      case AE_IFCHR: case AE_IFBLK: return refuse(name, "device files are not allowed");
      case AE_IFIFO: return refuse(name, "fifos are not allowed");
      case AE_IFSOCK: return refuse(name, "sockets are not allowed");
      default: return refuse(name, "unknown entry type");
    }
  }
  if (path->empty()) {
    if (kind == NodeKind::directory) return std::nullopt;
    return refuse(name, "the context root must be a directory");
  }
  if (auto added = tree.add(*path, kind); !added) return refuse(name, added.error());

  archive_entry_set_pathname(entry, (root / *path).c_str());
  mode_t perm = archive_entry_perm(entry) & 01777;  // no setuid/setgid
  if (kind == NodeKind::directory) perm |= 0700;
  archive_entry_set_perm(entry, perm);
  if (kind != NodeKind::file || archive_entry_hardlink(entry)) archive_entry_set_size(entry, 0);
  return kind;
}

struct ReaderDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriterDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};

class Extraction {
 public:
  Extraction(const fs::path& root, const SourceLimits& limits, HashingFileSource& source)
      : root_(root), limits_(limits), source_(source) {}

  Result<void> run() {
    std::unique_ptr<archive, ReaderDeleter> reader(archive_read_new());
    std::unique_ptr<archive, WriterDeleter> writer(archive_write_disk_new());
    if (!reader || !writer) return fail("INTERNAL", "out of memory creating archive reader");
    archive_read_support_filter_gzip(reader.get());
    archive_read_support_filter_zstd(reader.get());
    archive_read_support_format_tar(reader.get());
    // No OWNER, XATTR, ACL or FFLAGS: contexts belong to the extracting user.
    // No ARCHIVE_EXTRACT_SECURE_SYMLINKS: it lstats every component of every
    // absolute path (some 25 syscalls per file), and ContextTree already
    // refuses any entry below a symlink (or any non-directory) in a
    // destination this call creates, so no write can pass through a link.
    archive_write_disk_set_options(writer.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                     ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    if (archive_read_open(reader.get(), &source_, nullptr, &HashingFileSource::read_callback, nullptr) !=
        ARCHIVE_OK)
      return read_failure(reader.get(), "");
    std::string name;
    for (;;) {
      archive_entry* entry = nullptr;
      int r = archive_read_next_header(reader.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return read_failure(reader.get(), name);
      name = entry_name(entry);
      if (++entries_ > limits_.max_entries)
        return fail("TOO_LARGE", fmt::format("source archive has more than {} entries", limits_.max_entries));
      auto kind = admit_entry(entry, name, root_, tree_, limits_);
      if (!kind) return std::unexpected(kind.error());
      if (!*kind) continue;
      if (auto written = write_entry(reader.get(), writer.get(), entry, name, **kind); !written) return written;
    }
    if (archive_write_close(writer.get()) != ARCHIVE_OK)
      return fail("IO", fmt::format("cannot finish extracting source archive: {}",
                                    archive_error_string(writer.get())));
    return {};
  }

  std::uint64_t entries() const { return entries_; }
  std::uint64_t content_bytes() const { return content_bytes_; }

 private:
  Result<void> write_entry(archive* reader, archive* writer, archive_entry* entry, const std::string& name,
                           NodeKind kind) {
    // The declared size is counted before anything is written, and the
    // content below may not exceed it: a bomb stops here, with the disk untouched.
    std::uint64_t declared = static_cast<std::uint64_t>(std::max<la_int64_t>(0, archive_entry_size(entry)));
    if (declared > limits_.max_content_bytes - content_bytes_)
      return fail("TOO_LARGE", fmt::format("source archive expands to more than {} bytes (at entry '{}')",
                                           limits_.max_content_bytes, name));
    content_bytes_ += declared;
    if (archive_write_header(writer, entry) < ARCHIVE_WARN) return write_failure(writer, name);
    if (kind == NodeKind::file && !archive_entry_hardlink(entry)) {
      for (;;) {
        const void* block;
        std::size_t size;
        la_int64_t offset;
        int r = archive_read_data_block(reader, &block, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return read_failure(reader, name);
        if (offset < 0 || static_cast<std::uint64_t>(offset) + size > declared)
          return refuse(name, "content is longer than its header declares");
        // libarchive reports a failed write(2) (ENOSPC, EIO) as a mere
        // ARCHIVE_WARN and leaves the file short: anything but OK is a failure.
        if (archive_write_data_block(writer, block, size, offset) != ARCHIVE_OK)
          return write_failure(writer, name);
      }
    }
    if (archive_write_finish_entry(writer) < ARCHIVE_WARN) return write_failure(writer, name);
    return {};
  }

  std::unexpected<Error> read_failure(archive* reader, const std::string& after) {
    if (source_.read_errno() != 0) return io_error("cannot read source archive", source_.read_errno());
    const char* why = archive_error_string(reader);
    if (entries_ == 0)
      return fail("SOURCE_INVALID", fmt::format("source is not a tar archive (plain, gzip or zstd): {}",
                                                why ? why : "unrecognised"));
    return fail("SOURCE_INVALID", fmt::format("source archive is corrupt at entry '{}': {}", after,
                                              why ? why : "read error"));
  }

  std::unexpected<Error> write_failure(archive* writer, const std::string& name) {
    // Out of room is the service's state, not a fault of the archive.
    if (archive_errno(writer) == ENOSPC)
      return fail("NO_SPACE", fmt::format("no room to unpack the source archive (at entry '{}')", name));
    return fail("IO", fmt::format("cannot extract source archive entry '{}': {}", name,
                                  archive_error_string(writer)));
  }

  fs::path root_;
  const SourceLimits& limits_;
  HashingFileSource& source_;
  ContextTree tree_;
  std::uint64_t entries_ = 0;
  std::uint64_t content_bytes_ = 0;
};

Result<ExtractedSource> extract_into(const fs::path& archive_path, const fs::path& root,
                                     const SourceLimits& limits) {
  UniqueFd fd(::open(archive_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return io_error(fmt::format("cannot open source archive {}", archive_path.string()), errno);
  HashingFileSource source(fd.get());
  Extraction extraction(root, limits, source);
  if (auto done = extraction.run(); !done) return std::unexpected(done.error());
  if (auto drained = source.drain(); !drained) return std::unexpected(drained.error());
  ExtractedSource out{source.finish(), 0, extraction.entries(), extraction.content_bytes()};
  out.archive_bytes = source.bytes();
  return out;
}

}  // namespace

Result<ExtractedSource> extract_source_archive(const fs::path& archive, const fs::path& destination,
                                               const SourceLimits& limits) {
  if (::mkdir(destination.c_str(), 0755) != 0)
    return io_error(fmt::format("cannot create source directory {}", destination.string()), errno);
  // Canonical, so no symlink above the context trips the secure-symlink check.
  std::error_code ec;
  fs::path root = fs::canonical(destination, ec);
  Result<ExtractedSource> extracted =
      ec ? Result<ExtractedSource>(io_error(fmt::format("cannot resolve {}", destination.string()), ec.value()))
         : extract_into(archive, root, limits);
  if (!extracted) fs::remove_all(destination, ec);
  return extracted;
}

Result<std::string> find_dockerfile(const fs::path& context_dir, std::string_view dockerfile_path,
                                    std::size_t max_bytes) {
  std::string path(dockerfile_path.empty() ? "Dockerfile" : dockerfile_path);
  if (path.starts_with('/'))
    return fail("SOURCE_INVALID", fmt::format("dockerfile_path '{}' must be relative to the build context", path));
  UniqueFd root(::open(context_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) return io_error(fmt::format("cannot open build context {}", context_dir.string()), errno);
  open_how how{};
  // O_NONBLOCK: opening a fifo must not hang; it is refused below as not a regular file.
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long opened;
  do opened = ::syscall(SYS_openat2, root.get(), path.c_str(), &how, sizeof how);
  while (opened < 0 && errno == EINTR);
  if (opened < 0) {
    if (errno == EXDEV || errno == ELOOP)
      return fail("SOURCE_INVALID", fmt::format("dockerfile_path '{}' leads out of the build context", path));
    if (errno == ENOENT || errno == ENOTDIR)
      return fail("SOURCE_INVALID", fmt::format("the build context has no Dockerfile at '{}'", path));
    return io_error(fmt::format("cannot open Dockerfile '{}'", path), errno);
  }
  UniqueFd file(static_cast<int>(opened));
  struct stat st{};
  if (::fstat(file.get(), &st) != 0) return io_error(fmt::format("cannot stat Dockerfile '{}'", path), errno);
  if (!S_ISREG(st.st_mode))
    return fail("SOURCE_INVALID", fmt::format("Dockerfile '{}' is not a regular file", path));
  std::string text;
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = ::read(file.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(fmt::format("cannot read Dockerfile '{}'", path), errno);
    if (n == 0) return text;
    if (text.size() + static_cast<std::size_t>(n) > max_bytes)
      return fail("TOO_LARGE", fmt::format("Dockerfile '{}' is larger than {} bytes", path, max_bytes));
    text.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace strata::builds
