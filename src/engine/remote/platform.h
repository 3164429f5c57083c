// Platform matching for image indexes and Docker manifest lists, with the
// normalisation containerd applies: architecture aliases (x86_64 = amd64,
// aarch64 = arm64) and default variants (arm64 = arm64/v8, arm = arm/v7).
// Pure and thread-safe.
#pragma once

#include <optional>
#include <vector>

#include "oci/manifest.h"

namespace strata::engine::remote {

// The platform this binary was built for, e.g. linux/amd64.
oci::Platform host_platform();

// Lower-case os and architecture with aliases and default variants resolved.
oci::Platform normalize(const oci::Platform& platform);

// The first entry of an index whose platform matches `wanted`.
std::optional<oci::Descriptor> select_platform(const std::vector<oci::Descriptor>& manifests,
                                               const oci::Platform& wanted);

}  // namespace strata::engine::remote
