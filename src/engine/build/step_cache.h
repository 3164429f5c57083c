// The build cache as one build sees it: the cache repositories it reads, in
// lookup order (a tenant's own cache, then the global cache of its key), and
// the one it writes. Entries are cache::CacheEntry manifests tagged by step
// key (engine/cache/cache_entry.h), on our registry or any other.
//
// lookup() asks each import repository in order with a HEAD of the key's
// tag; on a hit it reads the manifest and config and checks them (type, key,
// layer descriptor, the layer blob present in that repository). Anything
// wrong with an entry (bad JSON, foreign media type, another key, a layer
// that does not match or is missing, the registry refusing) makes it a miss
// with a warning line on the step; a lookup never fails the build.
//
// record() notes each keyed step as it finishes (hit or run); export_to()
// then writes an entry for every recorded step (mode max) to the export
// repository, skipping entries already there (an entry this build hit in the
// export repository itself is re-tagged with its same manifest, so
// `strata gc --cache-max-age-seconds` sees it as used), moving layer blobs by
// cross-repository mount when they are on the same registry (from the
// repository the entry was found in, or the output repository the image was
// pushed to) and uploading them otherwise (from the build's own blob file,
// or fetched from where they are). Export problems are logged as warnings
// and never fail the build.
//
// Not thread-safe (uses the build's registry clients).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "engine/build/build_log.h"
#include "engine/build/image_layer.h"
#include "engine/build/registries.h"
#include "engine/cache/cache_entry.h"

namespace strata::engine::build {

enum class CacheTier { tenant, global };
std::string_view tier_name(CacheTier tier);  // "tenant" / "global"

struct CacheRepository {
  remote::RegistryEndpoint endpoint;
  std::string repository;  // "cache/acme", "cache/global/node"
  CacheTier tier = CacheTier::tenant;
};

struct CacheHit {
  cache::CacheEntry entry;
  CacheTier tier;
  std::optional<ImageLayer> layer;  // not unpacked (no dir); origin = the cache repository
  std::string repository;           // where it was found
  std::string manifest;             // the entry's manifest as served
};

// A keyed step as it finished, for export.
struct CachedStep {
  cache::CacheEntry entry;
  std::optional<ImageLayer> layer;
  std::optional<CacheHit> hit;  // set when the step came from the cache
};

class StepCache {
 public:
  StepCache(Registries& registries, std::vector<CacheRepository> import, std::optional<CacheRepository> export_to,
            cache::EntryWriter writer, std::filesystem::path scratch_dir, BuildLog& log)
      : registries_(registries), import_(std::move(import)), export_(std::move(export_to)),
        writer_(std::move(writer)), scratch_dir_(std::move(scratch_dir)), log_(log) {}

  bool reads() const { return !import_.empty(); }
  bool writes() const { return export_.has_value(); }
  const cache::EntryWriter& writer() const { return writer_; }
  const std::optional<CacheRepository>& export_repository() const { return export_; }

  std::optional<CacheHit> lookup(const oci::Digest& key, int step);
  void record(CachedStep step) { recorded_.push_back(std::move(step)); }
  // Drops what was recorded after the first `count` steps (a stage that is
  // run again records its steps anew).
  std::size_t recorded() const { return recorded_.size(); }
  void forget_after(std::size_t count) {
    if (count < recorded_.size()) recorded_.erase(recorded_.begin() + static_cast<std::ptrdiff_t>(count), recorded_.end());
  }

  // Writes the recorded steps' entries; `pushed` is where the image's layers
  // were pushed (a repository on our registry), if the build got that far.
  // Logs as its own step; never fails.
  void export_recorded(const std::optional<remote::RemoteImage>& pushed);

 private:
  Result<std::optional<CacheHit>> find(const CacheRepository& repository, const oci::Reference& tag,
                                       const oci::Digest& key);
  Result<bool> export_entry(const CachedStep& step, const std::optional<remote::RemoteImage>& pushed);
  Result<void> place_layer(const ImageLayer& layer, const std::optional<remote::RemoteImage>& pushed);

  Registries& registries_;
  std::vector<CacheRepository> import_;
  std::optional<CacheRepository> export_;
  cache::EntryWriter writer_;
  std::filesystem::path scratch_dir_;  // blobs copied between registries pass through here
  BuildLog& log_;
  std::vector<CachedStep> recorded_;
};

}  // namespace strata::engine::build
