#include "engine/image/image_manifest.h"

#include <nlohmann/json.hpp>

#include "oci/media_types.h"

namespace strata::engine::image {
namespace {

nlohmann::json descriptor_json(const oci::Descriptor& blob) {
  return {{"mediaType", blob.media_type}, {"digest", blob.digest.str()}, {"size", blob.size}};
}

}  // namespace

std::string image_manifest_json(const oci::Descriptor& config, const std::vector<oci::Descriptor>& layers) {
  nlohmann::json layer_list = nlohmann::json::array();
  for (const auto& layer : layers) layer_list.push_back(descriptor_json(layer));
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", oci::media_type::kOciManifest},
      {"config", descriptor_json(config)},
      {"layers", std::move(layer_list)},
  };
  return manifest.dump();
}

}  // namespace strata::engine::image
