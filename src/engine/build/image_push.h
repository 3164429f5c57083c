// Pushes a built image to the output repository on our registry: layer blobs
// (a base layer from the same registry by cross-repository mount, otherwise
// fetched from where it came from and uploaded; blobs the repository already
// has are skipped), then the config, then the manifest (by tag, or by digest
// when the build has no tag). The manifest goes last, so a failed push never
// leaves a tag pointing at an incomplete image.
//
// Contract: not thread-safe (uses the build's registry clients). Errors keep
// the registry's codes (DENIED, BLOB_UNKNOWN, ...); IO for local files.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/build/build_config.h"
#include "engine/build/build_log.h"
#include "engine/build/image_layer.h"
#include "engine/build/registries.h"
#include "oci/digest.h"

namespace strata::engine::build {

struct PushedImage {
  oci::Digest manifest_digest;
  oci::Digest config_digest;
};

class ImagePusher {
 public:
  ImagePusher(Registries& registries, const BuildConfig& config, std::filesystem::path scratch_dir, BuildLog& log,
              int step);

  // `config_json` is the serialized image config listing `layers`' diff-ids.
  Result<PushedImage> push(const std::string& config_json, const std::vector<ImageLayer>& layers);

 private:
  Result<void> push_layer(const ImageLayer& layer);

  Registries& registries_;
  const BuildConfig& config_;
  std::filesystem::path scratch_dir_;
  BuildLog& log_;
  int step_;
  remote::RegistryClient& target_;
};

}  // namespace strata::engine::build
