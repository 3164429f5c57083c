#include "engine/build/image_push.h"

#include <fmt/format.h>

#include "engine/build/blob_files.h"
#include "engine/image/image_manifest.h"
#include "oci/media_types.h"

namespace strata::engine::build {
namespace fs = std::filesystem;

ImagePusher::ImagePusher(Registries& registries, const BuildConfig& config, fs::path scratch_dir, BuildLog& log,
                         int step)
    : registries_(registries), config_(config), scratch_dir_(std::move(scratch_dir)), log_(log), step_(step),
      target_(registries.client(config.output_endpoint())) {}

Result<PushedImage> ImagePusher::push(const std::string& config_json, const std::vector<ImageLayer>& layers) {
  std::vector<oci::Descriptor> descriptors;
  for (const auto& layer : layers) {
    if (auto ok = push_layer(layer); !ok) return std::unexpected(ok.error());
    descriptors.push_back(layer.blob);
  }
  auto config_digest = oci::Digest::of(oci::DigestAlgorithm::sha256, config_json);
  auto pushed = upload_blob_bytes(target_, config_.output_repository, config_digest, config_json);
  if (!pushed) return std::unexpected(pushed.error());

  oci::Descriptor config_blob{std::string(oci::media_type::kOciConfig), config_digest,
                                    static_cast<std::int64_t>(config_json.size())};
  std::string manifest = image::image_manifest_json(config_blob, descriptors);
  auto manifest_digest = oci::Digest::of(oci::DigestAlgorithm::sha256, manifest);
  auto reference = config_.output_tag ? oci::Reference::parse(*config_.output_tag) : oci::Reference(manifest_digest);
  if (!reference) return std::unexpected(reference.error());
  auto put = target_.push_manifest(config_.output_repository, *reference, oci::media_type::kOciManifest, manifest);
  if (!put) return std::unexpected(put.error());
  log_.line(step_, fmt::format("pushed {}/{}@{}", config_.registry_host(), config_.output_repository, put->str()));
  return PushedImage{*put, config_digest};
}

Result<void> ImagePusher::push_layer(const ImageLayer& layer) {
  const auto& digest = layer.blob.digest;
  if (layer.blob_file) return upload_blob_file(target_, config_.output_repository, digest, layer.blob.size, *layer.blob_file);
  const auto& origin = *layer.origin;
  if (origin.endpoint.base_url == config_.registry_url) {
    auto mounted = target_.mount_blob(config_.output_repository, digest, origin.repository);
    if (!mounted) return std::unexpected(mounted.error());
    if (*mounted) return {};
  }
  auto present = target_.blob_exists(config_.output_repository, digest);
  if (!present) return std::unexpected(present.error());
  if (*present) return {};
  // A base layer from another registry: copy it through a local file.
  return copy_blob(registries_.client(origin.endpoint), origin.repository, target_, config_.output_repository, digest,
                   layer.blob.size, scratch_dir_ / (digest.hex() + ".push"));
}

}  // namespace strata::engine::build
