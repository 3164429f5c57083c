// build.json for one `strata builder` run (notes/builder-contract.md, field
// names as engine/build/build_config.h reads them), plus the cache fields of
// the build service contract: is_admin_build, global_cache_key, cache_import
// (repositories in lookup order) and cache_export (the one it writes).
// Pure; thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "builds/build_record.h"

namespace strata::builds {

struct BuilderSetup {
  std::filesystem::path context_dir;
  std::string dockerfile_text;    // the Dockerfile the build was accepted with
  std::string registry_url;       // "http://127.0.0.1:8083"
  std::string registry_token;     // the build's token
  std::filesystem::path work_dir;
  std::filesystem::path result_path;
  // The requested secrets' files in the secret store, in request order.
  std::vector<std::filesystem::path> secret_files;
};

std::string builder_config_json(const Build& build, const BuilderSetup& setup);

}  // namespace strata::builds
