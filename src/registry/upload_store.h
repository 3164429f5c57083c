// Blob upload sessions (the distribution spec's POST / PATCH / PUT uploads).
//
// A session is a row in MetadataStore (uuid, repository, created) plus a data
// file <data>/uploads/<uuid>/data holding the bytes received so far. The
// session's offset is that file's size; a chunk must start exactly there
// (else RANGE_INVALID, which HTTP maps to 416). The sha256 of the data is
// kept running in memory between requests, so finishing a 1 GiB upload does
// not re-read it; after a restart (or if the file changed behind our back) it
// is recomputed from the file on the session's next use. finish() verifies
// the digest and moves the data file itself into BlobStore (no copy), then
// links the blob to the session's repository.
//
// A session belongs to the repository it was created in: using its uuid with
// any other repository is BLOB_UPLOAD_UNKNOWN, exactly as if it did not
// exist. Malformed uuids (anything but the lowercase 8-4-4-4-12 hex form
// create() returns) are BLOB_UPLOAD_UNKNOWN too and never touch the disk.
//
// Crash safety: bytes of an unfinished session may be lost or the session
// may vanish (its row or directory), but a blob only appears through
// BlobStore's verified commit. Leftovers are found by stale() for gc.
//
// Thread-safety: all methods may be called concurrently. Requests on the
// same session are serialized (a second PATCH waits for the first); different
// sessions proceed in parallel. status() does not wait for a running append
// and reports the bytes written so far.
//
// Errors: BLOB_UPLOAD_UNKNOWN, RANGE_INVALID, DIGEST_INVALID (finish: data
// does not match; the session stays open so the client may retry or cancel),
// IO, plus whatever the caller's read function returns (client went away;
// the bytes received before that are kept).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "oci/digest.h"
#include "registry/blob_store.h"
#include "registry/metadata_store.h"

namespace strata::registry {

struct UploadStatus {
  std::string repo;
  std::uint64_t offset = 0;  // bytes received; the next chunk starts here
  Clock::time_point created;
};

// A session gc may delete. `repo` is empty for a directory whose row is gone
// (a crash between the two steps of create or cancel).
struct StaleUpload {
  std::string uuid;
  std::string repo;
  std::uint64_t size = 0;
  Clock::time_point created;
};

class UploadStore {
 public:
  // Both stores must outlive the UploadStore.
  static Result<std::unique_ptr<UploadStore>> open(const std::filesystem::path& data_dir,
                                                   BlobStore& blobs, MetadataStore& metadata);

  // Starts an empty session bound to `repo`; returns its uuid.
  Result<std::string> create(std::string_view repo);

  // Appends a stream to the session and returns the new offset. `start` is
  // where the client says the chunk begins (Content-Range); nullopt appends
  // at the current offset (streamed PATCH, or the body of the final PUT).
  Result<std::uint64_t> append(const std::string& uuid, std::string_view repo,
                               std::optional<std::uint64_t> start, const ReadFn& read);
  Result<std::uint64_t> append(const std::string& uuid, std::string_view repo,
                               std::optional<std::uint64_t> start, std::string_view bytes);

  Result<UploadStatus> status(const std::string& uuid, std::string_view repo);

  // Verifies the received data against `expected`, commits it to BlobStore,
  // links it to the session's repository and ends the session.
  Result<BlobInfo> finish(const std::string& uuid, std::string_view repo,
                          const oci::Digest& expected);

  // Ends the session and deletes its data.
  Result<void> cancel(const std::string& uuid, std::string_view repo);

  // Sessions created before `cutoff`, and orphaned session directories last
  // modified before it.
  Result<std::vector<StaleUpload>> stale(Clock::time_point cutoff);
  // Deletes a session regardless of repository (gc). No error if gone.
  Result<void> discard(const std::string& uuid);

 private:
  struct Session;
  UploadStore(std::filesystem::path data_dir, BlobStore& blobs, MetadataStore& metadata)
      : data_dir_(std::move(data_dir)), blobs_(blobs), metadata_(metadata) {}

  std::shared_ptr<Session> session(const std::string& uuid);
  void forget(const std::string& uuid);
  Result<UploadRecord> find(const std::string& uuid, std::string_view repo);
  Result<void> remove(const std::string& uuid);
  std::filesystem::path dir_of(const std::string& uuid) const;
  std::filesystem::path data_of(const std::string& uuid) const;
  template <class Source>
  Result<std::uint64_t> append_from(const std::string& uuid, std::string_view repo,
                                    std::optional<std::uint64_t> start, const Source& source);

  std::filesystem::path data_dir_;
  BlobStore& blobs_;
  MetadataStore& metadata_;
  std::mutex sessions_mutex_;
  // Sessions touched by this process: the per-session lock and running hash.
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_;
};

}  // namespace strata::registry
