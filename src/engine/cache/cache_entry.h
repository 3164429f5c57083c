// A build-cache entry as stored in a registry: an OCI image manifest tagged
// cache_tag(key) whose config (media type kCacheConfigMediaType) describes
// one step and whose one layer, if the step changed the filesystem, is the
// step's layer blob. Because the layer is an ordinary manifest reference,
// the registry links the blob to the cache repository and its gc keeps it;
// and any OCI registry can hold the cache.
//
// The config JSON:
//   {"schema":1,"key":"sha256:..","parent":"sha256:..","instruction":"RUN ..",
//    "layer":{"mediaType":..,"digest":..,"size":..,"diff_id":..} | null,
//    "history":{"created_by":"..","empty_layer":false},
//    "written_by":{"build":"<id>","tenant":"acme"|null,"admin":false}}
//
// Contract: parse_cache_config() and check_entry() accept only what
// cache_config_json()/entry_manifest_json() write and what agrees with
// itself; every other input is CACHE_ENTRY_INVALID with the reason. Pure;
// nlohmann stays in the .cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "oci/digest.h"
#include "oci/manifest.h"

namespace strata::engine::cache {

inline constexpr std::string_view kCacheConfigMediaType = "application/vnd.strata.cache.step.v1+json";

struct EntryLayer {
  oci::Descriptor blob;
  oci::Digest diff_id;
};

struct EntryWriter {
  std::string build;
  std::optional<std::string> tenant;  // the cache scope of a regular build
  bool admin = false;
};

struct CacheEntry {
  oci::Digest key;
  oci::Digest parent;
  std::string instruction;
  std::optional<EntryLayer> layer;  // nullopt: the step changed nothing
  std::string created_by;           // its history entry
  EntryWriter written_by;
};

std::string cache_config_json(const CacheEntry& entry);
Result<CacheEntry> parse_cache_config(std::string_view json);

// The entry's manifest, given its config blob's descriptor.
std::string entry_manifest_json(const oci::Descriptor& config, const CacheEntry& entry);

// Checks a fetched manifest before its config is read: an OCI image manifest
// with our config type and at most one layer.
Result<void> check_entry_manifest(const oci::ParsedManifest& manifest);
// Checks a parsed config against the manifest it came with and the key it
// was looked up for: same key, same layer descriptor (or none on both sides).
Result<void> check_entry(const oci::ParsedManifest& manifest, const CacheEntry& entry, const oci::Digest& key);

}  // namespace strata::engine::cache
