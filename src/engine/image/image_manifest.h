// The OCI image manifest (image-spec manifest.md) of a built image: its
// config and layer descriptors, serialized deterministically (compact JSON,
// sorted keys) so the same image always has the same manifest digest.
// Pure and thread-safe.
#pragma once

#include <string>
#include <vector>

#include "oci/manifest.h"

namespace strata::engine::image {

// An application/vnd.oci.image.manifest.v1+json document referencing
// `config` and `layers` (lowest first) with their own media types; only each
// descriptor's mediaType, digest and size are written.
std::string image_manifest_json(const oci::Descriptor& config, const std::vector<oci::Descriptor>& layers);

}  // namespace strata::engine::image
