// The OCI image manifest (image-spec manifest.md) of a built image: its
// config and layer descriptors, serialized deterministically (compact JSON,
// sorted keys) so the same image always has the same manifest digest.
// Pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "oci/digest.h"

namespace strata::engine::image {

struct BlobDescriptor {
  std::string media_type;
  oci::Digest digest;
  std::int64_t size = 0;
};

// An application/vnd.oci.image.manifest.v1+json document referencing
// `config` and `layers` (lowest first) with their own media types.
std::string image_manifest_json(const BlobDescriptor& config, const std::vector<BlobDescriptor>& layers);

}  // namespace strata::engine::image
