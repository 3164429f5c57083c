// The result document of one build (notes/builder-contract.md): on success
// the pushed manifest and config digests, the image reference, its layers,
// the base images it was built on and per-step durations; on failure the
// error. The build service reads it; the CLI writes it to result_path.
// Pure; nlohmann stays in the .cpp.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/build/image_layer.h"
#include "engine/build/stage_executor.h"
#include "oci/digest.h"

namespace strata::engine::build {

struct BaseImageRecord {
  std::string ref;     // "127.0.0.1:8083/base/busybox:1"
  oci::Digest digest;  // its platform manifest
};

struct BuildResult {
  oci::Digest manifest_digest;
  oci::Digest config_digest;
  std::string image;  // "<registry host>/<repository>@<manifest digest>"
  std::vector<ImageLayer> layers;
  std::vector<BaseImageRecord> base_images;
  std::vector<StepRecord> steps;
  std::chrono::milliseconds duration{0};
};

// {"status":"ready", ...}
std::string result_json(const BuildResult& result);
// {"status":"failed","error":"..."}
std::string failure_json(const Error& error);

}  // namespace strata::engine::build
