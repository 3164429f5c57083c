// Base images for FROM and COPY --from=<image>: resolves a reference for the
// build's platform (mirrors, our registry with the build's token, index
// selection) and reads its config. Layers are unpacked lazily: unpack() is
// called (through StepSnapshots) when a step first mounts them, so a build
// whose steps all come from the build cache downloads no base layer. Each is
// downloaded, diff-id checked and unpacked in overlay-lower form once per
// host; later builds reuse the unpacked dir.
//
// Contract: pulls each reference once per build and keeps the result for the
// ImagePuller's lifetime. Not thread-safe. Errors keep the registry's codes
// (MANIFEST_UNKNOWN, DENIED, ...) with the reference in the message;
// IMAGE_CONFIG_INVALID when the config and manifest disagree.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "engine/build/build_log.h"
#include "engine/build/image_layer.h"
#include "engine/build/registries.h"
#include "engine/image/image_config.h"
#include "engine/snapshot/snapshotter.h"
#include "oci/manifest.h"

namespace strata::engine::build {

struct PulledImage {
  std::string ref;                    // fully qualified, as the result reports it
  remote::RemoteImage location;       // after mirrors
  oci::Digest manifest_digest;        // of the platform's image manifest
  image::ImageConfig config;
  std::vector<ImageLayer> layers;     // lowest first; dir empty until unpack()
};

class ImagePuller {
 public:
  ImagePuller(Registries& registries, const snapshot::Snapshotter& snapshots, oci::Platform platform,
              std::filesystem::path download_dir, BuildLog& log)
      : registries_(registries), snapshots_(snapshots), platform_(std::move(platform)),
        download_dir_(std::move(download_dir)), log_(log) {}

  // `reference` as written after FROM (already expanded). Progress goes to
  // the log as lines of `step`.
  Result<const PulledImage*> pull(std::string_view reference, int step);

  // The unpacked dir of a layer known only by its origin (a build-cache
  // hit), downloaded, checked (digest and diff-id) and unpacked once per host.
  Result<std::filesystem::path> unpack(const ImageLayer& layer, int step);

  // Every image pulled so far, in pull order.
  const std::vector<const PulledImage*>& pulled() const { return order_; }

 private:
  Result<PulledImage> fetch(std::string_view reference, int step);
  Result<void> unpack_layer(remote::RegistryClient& client, const remote::RemoteImage& location,
                            ImageLayer& layer, int step);

  Registries& registries_;
  const snapshot::Snapshotter& snapshots_;
  oci::Platform platform_;
  std::filesystem::path download_dir_;
  BuildLog& log_;
  std::map<std::string, PulledImage, std::less<>> images_;
  std::vector<const PulledImage*> order_;
};

}  // namespace strata::engine::build
