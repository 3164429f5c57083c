#include "engine/build/image_puller.h"

#include <fmt/format.h>

#include "engine/build/blob_files.h"
#include "engine/layer/layer_reader.h"
#include "oci/media_types.h"

namespace strata::engine::build {
namespace fs = std::filesystem;

namespace {

std::unexpected<Error> with_context(const Error& error, std::string_view reference) {
  return fail(error.code, fmt::format("{}: {}", reference, error.message), error.detail);
}

// Docker's gzip layers are byte-for-byte OCI gzip layers; the output is an
// OCI manifest, so it names them the OCI way (as BuildKit does).
std::string oci_layer_type(std::string_view media_type) {
  if (media_type == oci::media_type::kDockerLayerTarGzip) return std::string(oci::media_type::kOciLayerTarGzip);
  return std::string(media_type);
}

}  // namespace

Result<const PulledImage*> ImagePuller::pull(std::string_view reference, int step) {
  if (auto it = images_.find(reference); it != images_.end()) return &it->second;
  auto image = fetch(reference, step);
  if (!image) return std::unexpected(image.error());
  auto [it, inserted] = images_.emplace(std::string(reference), std::move(*image));
  order_.push_back(&it->second);
  return &it->second;
}

Result<PulledImage> ImagePuller::fetch(std::string_view reference, int step) {
  auto ref = remote::ImageReference::parse(reference);
  if (!ref) return with_context(ref.error(), reference);
  auto location = registries_.locate(*ref);
  if (!location) return with_context(location.error(), reference);
  auto& client = registries_.client(location->endpoint);
  auto resolved = client.resolve(location->repository, location->reference, platform_);
  if (!resolved) return with_context(resolved.error(), reference);
  log_.line(step, fmt::format("resolve {} -> {}", ref->str(), resolved->digest.str()));
  if (!resolved->manifest.config) return fail("MANIFEST_INVALID", fmt::format("{}: manifest has no config", reference));

  std::string config_bytes;
  auto fetched = client.fetch_blob(location->repository, resolved->manifest.config->digest,
                                   [&](std::string_view chunk) -> Result<void> {
                                     config_bytes.append(chunk);
                                     return {};
                                   });
  if (!fetched) return with_context(fetched.error(), reference);
  auto config = image::parse_image_config(config_bytes);
  if (!config) return with_context(config.error(), reference);
  if (config->diff_ids.size() != resolved->manifest.layers.size())
    return fail("IMAGE_CONFIG_INVALID",
                fmt::format("{}: config lists {} diff-ids for {} layers", reference, config->diff_ids.size(),
                            resolved->manifest.layers.size()));

  PulledImage image{ref->str(), *location, resolved->digest, std::move(*config), {}};
  for (std::size_t i = 0; i < resolved->manifest.layers.size(); ++i) {
    const auto& descriptor = resolved->manifest.layers[i];
    ImageLayer layer{{oci_layer_type(descriptor.media_type), descriptor.digest, descriptor.size},
                     image.config.diff_ids[i], {}, std::nullopt, *location};
    image.layers.push_back(std::move(layer));
  }
  return image;
}

Result<fs::path> ImagePuller::unpack(const ImageLayer& layer, int step) {
  if (!layer.origin) return fail("SNAPSHOT_INVALID", fmt::format("layer {} has no origin", layer.blob.digest.str()));
  ImageLayer unpacked = layer;
  if (auto ok = unpack_layer(registries_.client(layer.origin->endpoint), *layer.origin, unpacked, step); !ok)
    return std::unexpected(ok.error());
  return unpacked.dir;
}

Result<void> ImagePuller::unpack_layer(remote::RegistryClient& client, const remote::RemoteImage& location,
                                       ImageLayer& layer, int step) {
  auto dir = snapshots_.layer(layer.diff_id.str(), [&](const fs::path& target) -> Result<void> {
    log_.line(step, fmt::format("pull {} ({} bytes)", layer.blob.digest.str(), layer.blob.size));
    fs::path blob = download_dir_ / (layer.blob.digest.hex() + ".pull");
    if (auto ok = download_blob(client, location.repository, layer.blob.digest, blob); !ok) return ok;
    auto applied = layer::apply_layer(blob, target, {layer::ApplyMode::overlay_lower, layer.diff_id});
    std::error_code ec;
    fs::remove(blob, ec);
    if (!applied) return std::unexpected(applied.error());
    return {};
  });
  if (!dir) return std::unexpected(dir.error());
  layer.dir = *dir;
  return {};
}

}  // namespace strata::engine::build
