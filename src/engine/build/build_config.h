// build.json: everything one `strata builder` run needs (see
// notes/builder-contract.md): the context and Dockerfile, build args and
// target, our registry's URL and the build's token, the output repository,
// per-registry settings for base images, network mode, secrets, timeout,
// SOURCE_DATE_EPOCH, work dir, cache-mount scope, layer compression and where
// the result goes.
//
// Contract: parse_build_config() checks types and required fields and fills
// the defaults; it reads no files. Every failure is CONFIG_INVALID naming the
// field (the CLI exits 2 on it). Value type.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "engine/dockerfile/shell_lex.h"
#include "engine/layer/layer_compression.h"
#include "engine/remote/registry_config.h"
#include "oci/manifest.h"
#include "sandbox/sandbox_policy.h"

namespace strata::engine::build {

enum class NetworkMode { isolated, egress };

// A secret a RUN step may mount by id. With env_var set, every RUN that
// mounts it also gets env_var=<file content, as is> in its process
// environment (that run only: never in the image config, history or layers).
struct SecretFile {
  std::string id;
  std::filesystem::path path;
  std::string env_var{};  // empty: file only
};

// The build cache (engine/build/step_cache.h): the cache repositories read,
// in lookup order, and the one written, all on `registry` (default: our
// registry with the build's token). A repository under cache/global/ is the
// global tier, any other a tenant's.
struct CacheSettings {
  std::vector<std::string> import;
  std::optional<std::string> export_to;
  std::optional<remote::RegistryEndpoint> registry;  // {"url", "insecure", "username", "password"}
  bool is_admin_build = false;                       // recorded in the entries it writes
};

struct BuildConfig {
  std::string id;
  std::filesystem::path context_dir;
  std::string dockerfile = "Dockerfile";        // relative to context_dir
  std::optional<std::string> dockerfile_text;   // wins over `dockerfile`
  dockerfile::Variables build_args;
  std::string target;                           // empty: the last stage
  oci::Platform platform;                       // default: the host's
  std::string registry_url;                     // "http://127.0.0.1:8083"
  std::optional<std::string> registry_token;
  std::string output_repository;
  std::optional<std::string> output_tag;
  // Base-image registries by host as written in FROM. An entry is either
  // {"mirror": "host[:port]/namespace"} or {"url", "insecure", "username",
  // "password"}; "insecure" without "url" means plain HTTP to that host. Our
  // registry (the host of registry_url) is always added with the build's
  // token as Bearer, overriding any entry for that host.
  remote::RegistryConfig registries;
  NetworkMode network_mode = NetworkMode::isolated;
  std::vector<SecretFile> secrets;              // {"id", "path", "env_var"?}
  std::chrono::seconds timeout{3600};
  // From the config, else from the SOURCE_DATE_EPOCH build arg.
  std::optional<std::int64_t> source_date_epoch;
  std::filesystem::path work_dir;               // default <tmp>/strata-builder
  std::string cache_mount_scope = "default";
  layer::LayerCompression layer_compression = layer::LayerCompression::gzip;
  std::optional<std::filesystem::path> result_path;
  CacheSettings cache;  // "cache_import", "cache_export", "cache_registry", "is_admin_build"
  sandbox::SandboxPolicy sandbox;  // "sandbox"; absent: the defaults

  // "127.0.0.1:8083": registry_url without its scheme.
  std::string registry_host() const;
  // Our registry, reached with the build's token.
  remote::RegistryEndpoint output_endpoint() const;
  // Where the cache repositories are.
  remote::RegistryEndpoint cache_endpoint() const;
};

Result<BuildConfig> parse_build_config(std::string_view json);

}  // namespace strata::engine::build
