// Registry metadata in SQLite (<data>/registry.db, WAL mode): repositories,
// blob links, manifests and what they reference, tags, referrers and upload
// sessions. Blob bytes live in BlobStore; this store says which repository
// may see which digest.
//
// Access rule it encodes: a blob is readable through repository R only if it
// is linked to R (pushed there, mounted there, or referenced by one of R's
// manifests — put_manifest links what it references). Knowing a digest is
// not enough.
//
// Names, tags and digests are taken as already validated by the caller
// (oci name/reference grammar); this layer does not re-check them.
//
// Thread-safety: every method may be called from any thread concurrently.
// Each call borrows a connection from a pool (one per concurrently calling
// thread, created on demand, each with its own prepared-statement cache), so
// readers never wait for each other and lookups cost one indexed query.
// Writes are short IMMEDIATE transactions; SQLite serializes them, waiting up
// to a few seconds for a busy database before failing with IO.
// Several processes (serve and gc) may open the same database.
//
// Durability: synchronous=NORMAL in WAL mode — a crash never corrupts or
// half-applies a change; a power loss may drop the last few commits.
//
// Errors: NAME_UNKNOWN (repository has never been written), MANIFEST_UNKNOWN,
// MANIFEST_BLOB_UNKNOWN (put_manifest references something not in the repo;
// detail is the digest), BLOB_UPLOAD_UNKNOWN, IO (database failure).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "oci/digest.h"

namespace strata::registry {

using Clock = std::chrono::system_clock;

// What put_manifest records. The handler parses the manifest; this store
// only keeps the facts that lookups, referrers and gc need.
struct ManifestRecord {
  oci::Digest digest;
  std::string media_type;
  std::uint64_t size = 0;
  std::string artifact_type;            // empty when none (referrers report it)
  std::optional<oci::Digest> subject;   // OCI 1.1 `subject`
  std::string annotations_json;         // JSON object text, empty when none
  std::vector<oci::Digest> blobs;       // config and layers: must be linked to the repo
  std::vector<oci::Digest> manifests;   // index children: must be manifests of the repo
};

struct ManifestInfo {
  oci::Digest digest;
  std::string media_type;
  std::uint64_t size = 0;
  std::optional<oci::Digest> subject;  // for the OCI-Subject header
};

// A referrers-API descriptor.
struct Referrer {
  std::string media_type;
  oci::Digest digest;
  std::uint64_t size = 0;
  std::string artifact_type;     // empty when none
  std::string annotations_json;  // empty when none
};

// One page of a lexically sorted listing; `more` says whether entries follow
// the last one returned (the handler then sends a Link header).
struct Page {
  std::vector<std::string> items;
  bool more = false;
};

struct UploadRecord {
  std::string uuid;
  std::string repo;
  Clock::time_point created;
};

class MetadataStore {
 public:
  // Opens (creating if needed) <data_dir>/registry.db and migrates its schema
  // to the current version (PRAGMA user_version).
  static Result<std::unique_ptr<MetadataStore>> open(const std::filesystem::path& data_dir);
  ~MetadataStore();
  MetadataStore(const MetadataStore&) = delete;
  MetadataStore& operator=(const MetadataStore&) = delete;

  // ---- blob links ----
  // Links `digest` to `repo` (creating the repository), or refreshes the
  // link's time if it exists (gc spares recently linked blobs).
  Result<void> link_blob(std::string_view repo, const oci::Digest& digest);
  Result<bool> is_blob_linked(std::string_view repo, const oci::Digest& digest);
  // false if it was not linked.
  Result<bool> unlink_blob(std::string_view repo, const oci::Digest& digest);
  // Repositories the digest is linked to, sorted (mount without `from`; the
  // caller keeps only those the client may pull).
  Result<std::vector<std::string>> repos_with_blob(const oci::Digest& digest);

  // ---- manifests and tags ----
  // In one transaction: checks that every referenced blob is linked to
  // `repo` and every child manifest exists in it (else MANIFEST_BLOB_UNKNOWN,
  // nothing written), stores or replaces the manifest row and its references,
  // links the manifest's own digest and its blobs to the repo, and points
  // `tag` at it if given. The manifest bytes must already be in BlobStore.
  Result<void> put_manifest(std::string_view repo, const ManifestRecord& manifest,
                            std::optional<std::string_view> tag = std::nullopt);
  Result<ManifestInfo> get_manifest(std::string_view repo, const oci::Digest& digest);
  Result<ManifestInfo> get_tagged_manifest(std::string_view repo, std::string_view tag);
  Result<bool> manifest_exists(std::string_view repo, const oci::Digest& digest);
  // Deletes the manifest, its references, its own blob link and every tag
  // pointing at it (returned, sorted). Blobs it referenced stay linked until
  // gc. MANIFEST_UNKNOWN if absent.
  Result<std::vector<std::string>> delete_manifest(std::string_view repo,
                                                   const oci::Digest& digest);
  // MANIFEST_UNKNOWN if the tag does not exist. The manifest stays.
  Result<void> delete_tag(std::string_view repo, std::string_view tag);
  // Tags sorted lexically (byte order), starting after `last`, at most
  // `limit` (nullopt: all). NAME_UNKNOWN if the repository does not exist.
  Result<Page> list_tags(std::string_view repo, std::optional<std::size_t> limit,
                         std::string_view last = {});
  // Repository names sorted lexically, starting after `last`.
  Result<Page> catalog(std::optional<std::size_t> limit, std::string_view last = {});
  Result<bool> repository_exists(std::string_view repo);
  // Manifests in `repo` whose subject is `subject`, optionally only those of
  // `artifact_type`; ordered by digest.
  Result<std::vector<Referrer>> referrers(std::string_view repo, const oci::Digest& subject,
                                          std::optional<std::string_view> artifact_type = {});

  // ---- upload sessions (used by UploadStore) ----
  Result<void> add_upload(const UploadRecord& upload);
  // BLOB_UPLOAD_UNKNOWN if there is no such session.
  Result<UploadRecord> find_upload(std::string_view uuid);
  // Atomically ends the session and links the finished blob to its repo.
  Result<void> complete_upload(std::string_view uuid, const oci::Digest& digest);
  // No error if it is already gone.
  Result<void> remove_upload(std::string_view uuid);
  Result<std::vector<UploadRecord>> uploads_created_before(Clock::time_point cutoff);

  // ---- garbage collection ----
  // Every digest some manifest needs: the manifests themselves and all they
  // reference, across all repositories. Sorted, as "alg:hex" strings.
  Result<std::vector<std::string>> referenced_digests();
  // Digests with any link made or refreshed at or after `since`. Sorted.
  Result<std::vector<std::string>> digests_linked_since(Clock::time_point since);
  // Removes every link of `digest` unless, at this moment, a manifest needs
  // it or a link is newer than `linked_before`; returns whether it did, i.e.
  // whether the blob may now be deleted. The check and removal are one
  // transaction, so a concurrent put_manifest either sees the link or loses.
  Result<bool> release_blob(const oci::Digest& digest, Clock::time_point linked_before);
  // Manifests in the repositories under `prefix` ("cache/") pushed before
  // `cutoff` whose tags, if any, were all last set before it too, and that no
  // index in their repository lists: expired build-cache entries. As
  // (repository, digest), sorted.
  Result<std::vector<std::pair<std::string, oci::Digest>>> manifests_unused_since(std::string_view prefix,
                                                                                  Clock::time_point cutoff);

 private:
  struct Pool;
  explicit MetadataStore(std::unique_ptr<Pool> pool);
  std::unique_ptr<Pool> pool_;
};

}  // namespace strata::registry
