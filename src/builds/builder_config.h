// build.json for one `strata builder` run (notes/builder-contract.md, field
// names as engine/build/build_config.h reads them), plus the cache fields of
// the build service contract: is_admin_build, global_cache_key, cache_import
// (repositories in lookup order), cache_export (the one it writes) and
// cache_registry ({"url", "username"?, "password"?}, only when the cache lives
// on another registry; absent, the builder uses our registry and its token),
// and the operator's sandbox policy (sandbox/sandbox_policy.h).
// The result holds the build token and any cache registry password: write it
// where only the server's user can read it, never log it. Pure; thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "builds/build_record.h"
#include "builds/cache_registry.h"
#include "sandbox/sandbox_policy.h"

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
  std::optional<CacheRegistry> cache_registry{};  // unset: the cache is on our registry
  sandbox::SandboxPolicy sandbox{};
};

std::string builder_config_json(const Build& build, const BuilderSetup& setup);

}  // namespace strata::builds
