#include "engine/build/step_cache.h"

#include <chrono>

#include <fmt/format.h>

#include "engine/build/blob_files.h"
#include "engine/cache/step_key.h"
#include "oci/media_types.h"

namespace strata::engine::build {
namespace {

// A cache entry's config is a few hundred bytes; refuse to buffer more.
constexpr std::size_t kMaxConfigBytes = 1 << 20;

std::string location(const CacheRepository& repository) {
  return fmt::format("{}/{}", repository.endpoint.base_url, repository.repository);
}

bool same_registry(const remote::RegistryEndpoint& a, const remote::RegistryEndpoint& b) {
  return a.base_url == b.base_url;
}

}  // namespace

std::string_view tier_name(CacheTier tier) { return tier == CacheTier::global ? "global" : "tenant"; }

std::optional<CacheHit> StepCache::lookup(const oci::Digest& key, int step) {
  auto tag = oci::Reference::parse(cache::cache_tag(key));
  if (!tag) return std::nullopt;
  for (const auto& repository : import_) {
    auto found = find(repository, *tag, key);
    if (!found) {
      log_.line(step, fmt::format("warning: cache entry {}:{} ignored: {}", location(repository),
                                  cache::cache_tag(key), found.error().message));
      continue;
    }
    if (*found) return std::move(**found);
  }
  return std::nullopt;
}

Result<std::optional<CacheHit>> StepCache::find(const CacheRepository& repository, const oci::Reference& tag,
                                                const oci::Digest& key) {
  auto& client = registries_.client(repository.endpoint);
  auto head = client.head_manifest(repository.repository, tag, {std::string(oci::media_type::kOciManifest)});
  if (!head) return std::unexpected(head.error());
  if (!*head) return std::nullopt;
  auto fetched = client.get_manifest(repository.repository, oci::Reference((*head)->digest));
  if (!fetched) return std::unexpected(fetched.error());
  auto manifest = oci::parse_manifest(fetched->info.media_type, fetched->bytes);
  if (!manifest) return std::unexpected(manifest.error());
  if (auto ok = cache::check_entry_manifest(*manifest); !ok) return std::unexpected(ok.error());

  std::string config;
  auto read = client.fetch_blob(repository.repository, manifest->config->digest,
                                [&](std::string_view chunk) -> Result<void> {
                                  if (config.size() + chunk.size() > kMaxConfigBytes)
                                    return fail("CACHE_ENTRY_INVALID", "config is larger than 1 MiB");
                                  config.append(chunk);
                                  return {};
                                });
  if (!read) return std::unexpected(read.error());
  auto entry = cache::parse_cache_config(config);
  if (!entry) return std::unexpected(entry.error());
  if (auto ok = cache::check_entry(*manifest, *entry, key); !ok) return std::unexpected(ok.error());

  CacheHit hit{std::move(*entry), repository.tier, std::nullopt, repository.repository, std::move(fetched->bytes)};
  if (hit.entry.layer) {
    const auto& blob = hit.entry.layer->blob;
    auto present = client.blob_exists(repository.repository, blob.digest);
    if (!present) return std::unexpected(present.error());
    if (!*present) return fail("BLOB_UNKNOWN", fmt::format("layer {} is not in the repository", blob.digest.str()));
    hit.layer = ImageLayer{blob, hit.entry.layer->diff_id, {}, std::nullopt,
                           remote::RemoteImage{repository.endpoint, repository.repository, tag}, true};
  }
  return hit;
}

void StepCache::export_recorded(const std::optional<remote::RemoteImage>& pushed) {
  if (!export_ || recorded_.empty()) return;
  auto started = std::chrono::steady_clock::now();
  int step = log_.start("cache", 1, 1, "export to " + export_->repository);
  log_.line(step, "registry " + export_->endpoint.base_url);
  std::size_t written = 0, present = 0;
  for (const auto& recorded : recorded_) {
    auto exported = export_entry(recorded, pushed);
    if (!exported) {
      // The build's outcome stands; a later build simply misses.
      log_.line(step, fmt::format("warning: cache export failed: {}", exported.error().message));
      log_.done(step, std::chrono::steady_clock::now() - started);
      return;
    }
    ++(*exported ? written : present);
  }
  log_.line(step, fmt::format("exported {} entries ({} already present)", written, present));
  log_.done(step, std::chrono::steady_clock::now() - started);
}

Result<bool> StepCache::export_entry(const CachedStep& step, const std::optional<remote::RemoteImage>& pushed) {
  auto& client = registries_.client(export_->endpoint);
  auto tag = oci::Reference::parse(cache::cache_tag(step.entry.key));
  if (!tag) return std::unexpected(tag.error());
  auto head = client.head_manifest(export_->repository, *tag, {std::string(oci::media_type::kOciManifest)});
  if (!head) return std::unexpected(head.error());
  if (*head) {
    // Import and export repositories are all on the cache registry.
    if (step.hit && step.hit->repository == export_->repository) {
      auto touched = client.push_manifest(export_->repository, *tag, oci::media_type::kOciManifest, step.hit->manifest);
      if (!touched) return std::unexpected(touched.error());
    }
    return false;
  }

  if (step.layer)
    if (auto placed = place_layer(*step.layer, pushed); !placed) return std::unexpected(placed.error());
  std::string config = cache::cache_config_json(step.entry);
  oci::Descriptor config_blob{std::string(cache::kCacheConfigMediaType),
                              oci::Digest::of(oci::DigestAlgorithm::sha256, config),
                              static_cast<std::int64_t>(config.size())};
  if (auto ok = upload_blob_bytes(client, export_->repository, config_blob.digest, config); !ok)
    return std::unexpected(ok.error());
  std::string manifest = cache::entry_manifest_json(config_blob, step.entry);
  auto put = client.push_manifest(export_->repository, *tag, oci::media_type::kOciManifest, manifest);
  if (!put) return std::unexpected(put.error());
  return true;
}

Result<void> StepCache::place_layer(const ImageLayer& layer, const std::optional<remote::RemoteImage>& pushed) {
  auto& client = registries_.client(export_->endpoint);
  const auto& digest = layer.blob.digest;
  auto present = client.blob_exists(export_->repository, digest);
  if (!present) return std::unexpected(present.error());
  if (*present) return {};
  for (const auto* source : {layer.origin ? &*layer.origin : nullptr, pushed ? &*pushed : nullptr}) {
    if (!source || !same_registry(source->endpoint, export_->endpoint)) continue;
    auto mounted = client.mount_blob(export_->repository, digest, source->repository);
    if (mounted && *mounted) return {};
  }
  if (layer.blob_file) return upload_blob_file(client, export_->repository, digest, layer.blob.size, *layer.blob_file);
  if (!layer.origin) return fail("BLOB_UNKNOWN", fmt::format("no source for layer {}", digest.str()));
  return copy_blob(registries_.client(layer.origin->endpoint), layer.origin->repository, client, export_->repository,
                   digest, layer.blob.size, scratch_dir_ / (digest.hex() + ".cache"));
}

}  // namespace strata::engine::build
