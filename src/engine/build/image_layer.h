// One layer of an image being built: its blob as the output manifest lists
// it, its diff-id for the config, the directory the snapshotter stacks for
// the steps above it, and where its bytes can be had for the push.
#pragma once

#include <filesystem>
#include <optional>

#include "engine/image/image_manifest.h"
#include "engine/remote/registry_config.h"
#include "oci/digest.h"

namespace strata::engine::build {

struct ImageLayer {
  oci::Descriptor blob;
  oci::Digest diff_id;
  // Overlay lower form: an unpacked base layer or a step's upper dir.
  std::filesystem::path dir;
  // A layer this build wrote: the blob file. Otherwise the layer came from
  // a pulled image and is mounted or copied from `origin` when pushed.
  std::optional<std::filesystem::path> blob_file;
  std::optional<remote::RemoteImage> origin;
  // Taken from a build-cache entry (origin is the cache repository).
  bool from_cache = false;
};

}  // namespace strata::engine::build
