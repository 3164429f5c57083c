// Layer writer: scan the upper dir, emit the entries through libarchive's PAX
// writer into a CompressedBlobSink, then publish the blob by rename.
#include "engine/layer/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "engine/layer/compressed_blob_sink.h"
#include "engine/layer/file_descriptor.h"
#include "engine/layer/upper_dir_scan.h"

namespace strata::engine::layer {
namespace {

constexpr std::size_t kReadBuffer = 1024 * 1024;
// libarchive hands data on in blocks of this size; the last block is not
// padded (bytes_in_last_block = 1), so the tar ends right after its two zero
// records like Go's archive/tar output.
constexpr int kTarBlock = 64 * 1024;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

struct SinkContext {
  CompressedBlobSink* sink;
  std::optional<Error> error;
};

la_ssize_t write_to_sink(archive* a, void* client, const void* data, size_t size) {
  auto* ctx = static_cast<SinkContext*>(client);
  if (auto ok = ctx->sink->write(data, size); !ok) {
    ctx->error = ok.error();
    archive_set_error(a, EIO, "%s", ok.error().message.c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(size);
}

mode_t file_type_of(LayerEntry::Kind kind) {
  switch (kind) {
    case LayerEntry::Kind::directory: return AE_IFDIR;
    case LayerEntry::Kind::symlink: return AE_IFLNK;
    case LayerEntry::Kind::character_device: return AE_IFCHR;
    case LayerEntry::Kind::block_device: return AE_IFBLK;
    case LayerEntry::Kind::fifo: return AE_IFIFO;
    case LayerEntry::Kind::regular:
    case LayerEntry::Kind::hardlink:
    case LayerEntry::Kind::whiteout: break;
  }
  return AE_IFREG;
}

class TarEmitter {
 public:
  TarEmitter(CompressedBlobSink& sink, std::optional<std::int64_t> clamp)
      : context_{&sink, std::nullopt}, clamp_(clamp), buffer_(kReadBuffer) {}

  Result<void> open() {
    archive_.reset(archive_write_new());
    entry_.reset(archive_entry_new());
    if (!archive_ || !entry_) return fail("INTERNAL", "cannot allocate tar writer");
    archive* a = archive_.get();
    // Restricted PAX: ustar headers unless a field needs an extended record.
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, kTarBlock) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, &context_, nullptr, write_to_sink, nullptr) != ARCHIVE_OK)
      return archive_failure("cannot start tar stream");
    return {};
  }

  Result<void> add(const LayerEntry& e) {
    archive_entry* entry = entry_.get();
    archive_entry_clear(entry);
    archive_entry_set_pathname(entry, e.tar_path.c_str());
    archive_entry_set_filetype(entry, file_type_of(e.kind));
    archive_entry_set_perm(entry, e.mode);
    archive_entry_set_uid(entry, e.uid);
    archive_entry_set_gid(entry, e.gid);
    archive_entry_set_mtime(entry, clamp_ ? std::min(e.mtime, *clamp_) : e.mtime, 0);
    archive_entry_set_size(entry, static_cast<la_int64_t>(e.size));
    if (e.kind == LayerEntry::Kind::symlink) archive_entry_set_symlink(entry, e.link_target.c_str());
    if (e.kind == LayerEntry::Kind::hardlink) archive_entry_set_hardlink(entry, e.link_target.c_str());
    if (e.kind == LayerEntry::Kind::character_device || e.kind == LayerEntry::Kind::block_device) {
      archive_entry_set_rdevmajor(entry, e.device_major);
      archive_entry_set_rdevminor(entry, e.device_minor);
    }
    if (e.capability)
      archive_entry_xattr_add_entry(entry, "security.capability", e.capability->data(),
                                    e.capability->size());
    if (archive_write_header(archive_.get(), entry) < ARCHIVE_WARN)
      return archive_failure("cannot write tar header for " + e.tar_path);
    if (e.kind == LayerEntry::Kind::regular) return copy_contents(e);
    return {};
  }

  Result<void> close() {
    if (archive_write_close(archive_.get()) != ARCHIVE_OK)
      return archive_failure("cannot finish tar stream");
    return {};
  }

 private:
  Result<void> copy_contents(const LayerEntry& e) {
    UniqueFd fd(::open(e.source_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return errno_error("open", e.source_path);
    std::uint64_t copied = 0;
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read", e.source_path);
      if (n == 0) break;
      copied += static_cast<std::uint64_t>(n);
      if (copied > e.size) break;
      if (archive_write_data(archive_.get(), buffer_.data(), static_cast<size_t>(n)) != n)
        return archive_failure("cannot write tar data for " + e.tar_path);
    }
    if (copied != e.size)
      return fail("IO", "file changed size while its layer was written", e.source_path);
    return {};
  }

  std::unexpected<Error> archive_failure(std::string message) {
    if (context_.error) return std::unexpected(*context_.error);
    const char* detail = archive_error_string(archive_.get());
    return fail("INTERNAL", std::move(message), detail ? detail : "");
  }

  SinkContext context_;
  std::optional<std::int64_t> clamp_;
  std::vector<char> buffer_;
  std::unique_ptr<archive, ArchiveDeleter> archive_;
  std::unique_ptr<archive_entry, EntryDeleter> entry_;
};

Result<BlobTotals> write_blob(int fd, const std::string& path, const std::vector<LayerEntry>& entries,
                              const LayerWriteOptions& options) {
  auto sink = CompressedBlobSink::open(fd, path, options.compression);
  if (!sink) return std::unexpected(sink.error());
  // The emitter flushes into the sink on close, so it finishes before the sink.
  {
    TarEmitter tar(*sink, options.source_date_epoch);
    if (auto ok = tar.open(); !ok) return std::unexpected(ok.error());
    for (const auto& e : entries)
      if (auto ok = tar.add(e); !ok) return std::unexpected(ok.error());
    if (auto ok = tar.close(); !ok) return std::unexpected(ok.error());
  }
  return sink->finish();
}

}  // namespace

Result<std::optional<LayerInfo>> write_layer(const std::filesystem::path& upper_dir,
                                             const std::filesystem::path& blob_path,
                                             const LayerWriteOptions& options) {
  auto entries = scan_upper_dir(upper_dir);
  if (!entries) return std::unexpected(entries.error());
  if (entries->empty()) return std::nullopt;

  std::string partial = blob_path.string() + ".partial";
  UniqueFd fd(::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return errno_error("create layer blob", partial);
  auto totals = write_blob(fd.get(), partial, *entries, options);
  int close_rc = fd.close();
  if (totals && close_rc != 0) totals = errno_error("close layer blob", partial);
  if (totals && ::rename(partial.c_str(), blob_path.c_str()) != 0)
    totals = errno_error("publish layer blob", blob_path.string());
  if (!totals) {
    ::unlink(partial.c_str());
    return std::unexpected(totals.error());
  }
  return LayerInfo{totals->digest, totals->diff_id, totals->size,
                   media_type_of(options.compression)};
}

}  // namespace strata::engine::layer
