// Garbage collection of registry storage (`strata gc`): mark and sweep.
//
// Mark: every digest some manifest needs — each manifest itself, its config
// and layers, an index's child manifests — in any repository, plus every
// blob linked to any repository within the grace period (a push whose
// manifest has not arrived yet). Sweep: committed blobs that are unmarked
// and whose file is older than the grace period are deleted together with
// their links; upload sessions older than the upload max age are deleted, as
// are BlobWriter leftovers in tmp/ of that age. With a cache max age, expired
// build-cache entries are deleted first (manifests under cache/ that nothing
// pushed or re-tagged within it), so the blobs only they held go too. Tags are not roots of their
// own: a tag always points at a manifest, which is a root.
//
// Safe to run while `strata serve` runs on the same data directory: nothing
// younger than the grace period is touched, and each blob's links are
// removed in one transaction that re-checks no manifest needs it, before its
// file is deleted.
//
// Thread-safety: collect() opens its own stores; run one collection at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "registry/blob_store.h"
#include "registry/metadata_store.h"

namespace strata::registry {

struct GcOptions {
  bool dry_run = false;  // report what would be deleted, delete nothing
  std::chrono::seconds grace{std::chrono::hours(1)};
  std::chrono::seconds upload_max_age{std::chrono::hours(24)};
  // Build-cache entries (manifests under cache/) neither pushed nor re-tagged
  // for this long are deleted before the mark, so their blobs go in the same
  // run; a build refreshes the tags it hits. nullopt: cache entries are kept.
  std::optional<std::chrono::seconds> cache_max_age;
  // The time the ages are measured from; nullopt means now (tests set it).
  std::optional<Clock::time_point> now;
};

struct GcReport {
  std::vector<std::string> cache_entries;  // "repo@digest" of expired cache entries deleted
  std::vector<BlobInfo> blobs;      // deleted (or would be, in a dry run)
  std::vector<std::string> uploads; // upload session uuids deleted
  std::vector<std::filesystem::path> temporaries;  // leftover files in tmp/ deleted
  std::uint64_t bytes_freed = 0;    // blobs + uploads + temporaries
  std::size_t blobs_kept = 0;
  bool dry_run = false;
};

Result<GcReport> collect(const std::filesystem::path& data_dir, const GcOptions& options = {});

}  // namespace strata::registry
