// Content-addressed blob files on local disk, the bytes behind every layer,
// config and manifest the registry holds.
//
// Layout under the data directory:
//   blobs/<algorithm>/<first 2 hex>/<hex>   committed blobs, immutable
//   tmp/                                    BlobWriter temporary files
//
// A blob becomes visible only through commit(): the file is fully written,
// its digest verified, fdatasync'ed, hard-linked into place (never
// overwriting) and the directory fsync'ed. A crash at any point leaves either
// no blob or the whole blob; leftovers in tmp/ are never read.
// Committing a digest that already exists succeeds and discards the new copy,
// so many clients pushing the same blob at once all succeed and it is stored
// once.
//
// This layer knows nothing of repositories or HTTP: whether a repository may
// read a blob is MetadataStore's business (blob links).
//
// Thread-safety: BlobStore is safe to use from any number of threads (it holds
// no mutable state; the filesystem arbitrates). A BlobWriter is used by one
// thread at a time.
//
// Errors: BLOB_UNKNOWN (no such blob), DIGEST_INVALID (content does not match
// the expected digest), SIZE_INVALID (content longer than a caller's limit),
// IO (filesystem failure; message names the path and errno text).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "oci/digest.h"

namespace strata::registry {

// Pulls the next bytes of a stream into `buffer` (at most `size`), returning
// how many were read; 0 means end of stream. An http::BodyReader adapts with
// `[&](char* b, std::size_t n) { return body.read(b, n); }`.
using ReadFn = std::function<Result<std::size_t>(char* buffer, std::size_t size)>;

struct BlobInfo {
  oci::Digest digest;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point modified;  // file mtime; commit of an existing blob refreshes it
};

// A leftover BlobWriter file in tmp/ (a writer's process died before commit).
struct TemporaryFile {
  std::filesystem::path path;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point modified;
};

// An open, read-only committed blob. Owns the descriptor (closed on
// destruction unless release()d). The content never changes under it, and a
// concurrent remove() does not disturb an open reader.
class BlobFile {
 public:
  BlobFile(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~BlobFile();
  BlobFile(BlobFile&& other) noexcept : fd_(other.fd_), size_(other.size_) { other.fd_ = -1; }
  BlobFile& operator=(BlobFile&& other) noexcept;
  BlobFile(const BlobFile&) = delete;
  BlobFile& operator=(const BlobFile&) = delete;

  int fd() const { return fd_; }
  std::uint64_t size() const { return size_; }
  // Hands the descriptor to the caller (e.g. http::open_file_body for sendfile).
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
  std::uint64_t size_;
};

// A file being filled with a blob's content, hashed (sha256) as the bytes
// arrive. Writes are gathered into 1 MiB writes that bypass the page cache
// (O_DIRECT) while they are whole, aligned blocks, which is most of a large
// blob; the rest (an odd-sized tail, a filesystem without direct I/O) is
// written through the page cache with writeback started every few MiB
// (sync_file_range). Either way the fdatasync at commit has little left to
// do. Written buffers are hashed on a helper thread while the next one fills
// (HashingRing). Memory use is one 1 MiB buffer for a blob smaller than that
// and three for a larger one, whatever its size.
//
// Two kinds, both made by BlobStore:
//  - temporary (BlobStore::create_writer): the file lives in tmp/ and is
//    deleted if the writer is destroyed without a successful commit;
//  - resumed (BlobStore::resume_writer): appends to a caller-owned file (an
//    upload session's data), which survives the writer; suspend() closes it
//    and hands back the running hash for the next request.
//
// After a failed write the file is cut back to the last fully written buffer
// and the writer refuses further writes; size() then tells what was kept and
// suspend() still works.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) noexcept;

  Result<void> write(std::string_view data);
  // Reads from `read` until it reports end of stream. If `read` fails, the
  // bytes received before the failure are kept (flushed to the file) and the
  // read error is returned.
  Result<void> write_from(const ReadFn& read);
  // Bytes accepted so far (including the resumed file's earlier content).
  std::uint64_t size() const;

  // Verifies the content against `expected` (sha256 from the running hash;
  // sha512 by re-reading the file), makes it durable and installs it as that
  // blob. If the blob already exists the new copy is discarded and the
  // existing one's mtime refreshed. On DIGEST_INVALID nothing becomes
  // visible; a temporary file is deleted, a resumed file is left as it was.
  // The writer is finished after commit, whatever the outcome.
  Result<BlobInfo> commit(const oci::Digest& expected);

  // Resumed writers only: flushes buffered bytes, closes the file and returns
  // the hash of everything in it, to continue with resume_writer later.
  Result<oci::Digester> suspend();

 private:
  friend class BlobStore;
  struct State;
  explicit BlobWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class BlobStore {
 public:
  // Creates blobs/ and tmp/ under data_dir if missing.
  static Result<BlobStore> open(std::filesystem::path data_dir);

  // A writer on a fresh temporary file.
  Result<BlobWriter> create_writer() const;
  // A writer appending to `file` (which must exist). `hash` is the running
  // hash of the file's current content; if it is absent or covers a
  // different number of bytes than the file holds (a restart, another
  // process), the file is re-hashed.
  Result<BlobWriter> resume_writer(const std::filesystem::path& file,
                                   std::optional<oci::Digester> hash) const;

  // Writes a small in-memory blob (a manifest) in one go.
  Result<BlobInfo> put(std::string_view content, const oci::Digest& expected) const;

  Result<BlobInfo> stat(const oci::Digest& digest) const;
  Result<BlobFile> open_blob(const oci::Digest& digest) const;
  // Reads a whole blob; SIZE_INVALID if it is larger than `limit`.
  Result<std::string> read(const oci::Digest& digest, std::size_t limit) const;
  // BLOB_UNKNOWN if it was not there.
  Result<void> remove(const oci::Digest& digest) const;
  // Every committed blob (for gc). Files whose names are not valid digests
  // are ignored.
  Result<std::vector<BlobInfo>> list() const;
  // Files in tmp/ (for gc: those older than any live upload are garbage).
  Result<std::vector<TemporaryFile>> temporaries() const;

  std::filesystem::path path_of(const oci::Digest& digest) const;
  const std::filesystem::path& data_dir() const { return data_dir_; }

 private:
  explicit BlobStore(std::filesystem::path data_dir) : data_dir_(std::move(data_dir)) {}
  std::filesystem::path data_dir_;
};

}  // namespace strata::registry
