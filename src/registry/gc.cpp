// Mark and sweep over MetadataStore (roots) and BlobStore / UploadStore
// (what is on disk). See gc.h for what is kept and why.
#include "registry/gc.h"

#include <unordered_set>

#include "registry/upload_store.h"

namespace strata::registry {
namespace {

struct Stores {
  BlobStore blobs;
  std::unique_ptr<MetadataStore> metadata;
  std::unique_ptr<UploadStore> uploads;
};

Result<std::unique_ptr<Stores>> open_stores(const std::filesystem::path& data_dir) {
  auto blobs = BlobStore::open(data_dir);
  if (!blobs) return std::unexpected(blobs.error());
  auto metadata = MetadataStore::open(data_dir);
  if (!metadata) return std::unexpected(metadata.error());
  auto stores = std::make_unique<Stores>(Stores{std::move(*blobs), std::move(*metadata), nullptr});
  auto uploads = UploadStore::open(data_dir, stores->blobs, *stores->metadata);
  if (!uploads) return std::unexpected(uploads.error());
  stores->uploads = std::move(*uploads);
  return stores;
}

Result<std::unordered_set<std::string>> mark(MetadataStore& metadata, Clock::time_point cutoff) {
  auto referenced = metadata.referenced_digests();
  if (!referenced) return std::unexpected(referenced.error());
  auto recent = metadata.digests_linked_since(cutoff);
  if (!recent) return std::unexpected(recent.error());
  std::unordered_set<std::string> marked(referenced->begin(), referenced->end());
  marked.insert(recent->begin(), recent->end());
  return marked;
}

Result<void> sweep_blobs(Stores& stores, const std::unordered_set<std::string>& marked,
                         Clock::time_point cutoff, bool dry_run, GcReport& report) {
  auto listed = stores.blobs.list();
  if (!listed) return std::unexpected(listed.error());
  for (auto& blob : *listed) {
    if (marked.contains(blob.digest.str()) || blob.modified >= cutoff) {
      ++report.blobs_kept;
      continue;
    }
    if (!dry_run) {
      // Re-checked under a write transaction: a manifest pushed since the
      // mark phase keeps the blob alive.
      auto released = stores.metadata->release_blob(blob.digest, cutoff);
      if (!released) return std::unexpected(released.error());
      if (!*released) {
        ++report.blobs_kept;
        continue;
      }
      auto removed = stores.blobs.remove(blob.digest);
      if (!removed && removed.error().code != "BLOB_UNKNOWN")
        return std::unexpected(removed.error());
    }
    report.bytes_freed += blob.size;
    report.blobs.push_back(std::move(blob));
  }
  return {};
}

Result<void> sweep_uploads(Stores& stores, Clock::time_point cutoff, bool dry_run,
                           GcReport& report) {
  auto stale = stores.uploads->stale(cutoff);
  if (!stale) return std::unexpected(stale.error());
  for (const auto& upload : *stale) {
    if (!dry_run)
      if (auto r = stores.uploads->discard(upload.uuid); !r) return r;
    report.bytes_freed += upload.size;
    report.uploads.push_back(upload.uuid);
  }

  auto temporaries = stores.blobs.temporaries();
  if (!temporaries) return std::unexpected(temporaries.error());
  for (const auto& file : *temporaries) {
    if (file.modified >= cutoff) continue;
    std::error_code ec;
    if (!dry_run && !std::filesystem::remove(file.path, ec) && ec)
      return fail("IO", "remove " + file.path.string() + ": " + ec.message());
    report.bytes_freed += file.size;
    report.temporaries.push_back(file.path);
  }
  return {};
}

Result<void> expire_cache_entries(MetadataStore& metadata, Clock::time_point cutoff, bool dry_run,
                                  GcReport& report) {
  auto expired = metadata.manifests_unused_since("cache/", cutoff);
  if (!expired) return std::unexpected(expired.error());
  for (const auto& [repo, digest] : *expired) {
    if (!dry_run) {
      auto deleted = metadata.delete_manifest(repo, digest);
      if (!deleted && deleted.error().code != "MANIFEST_UNKNOWN") return std::unexpected(deleted.error());
    }
    report.cache_entries.push_back(repo + "@" + digest.str());
  }
  return {};
}

}  // namespace

Result<GcReport> collect(const std::filesystem::path& data_dir, const GcOptions& options) {
  auto stores = open_stores(data_dir);
  if (!stores) return std::unexpected(stores.error());
  Clock::time_point now = options.now.value_or(Clock::now());
  Clock::time_point grace_cutoff = now - options.grace;

  GcReport report;
  report.dry_run = options.dry_run;
  if (options.cache_max_age)
    if (auto r = expire_cache_entries(*(*stores)->metadata, now - *options.cache_max_age, options.dry_run, report); !r)
      return std::unexpected(r.error());
  auto marked = mark(*(*stores)->metadata, grace_cutoff);
  if (!marked) return std::unexpected(marked.error());
  if (auto r = sweep_blobs(**stores, *marked, grace_cutoff, options.dry_run, report); !r)
    return std::unexpected(r.error());
  if (auto r = sweep_uploads(**stores, now - options.upload_max_age, options.dry_run, report); !r)
    return std::unexpected(r.error());
  return report;
}

}  // namespace strata::registry
