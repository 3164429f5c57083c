#include "builds/builder_config.h"

#include <nlohmann/json.hpp>

#include "builds/build_token.h"
#include "builds/cache_names.h"

namespace strata::builds {

using nlohmann::json;

namespace {

json cache_registry_json(const CacheRegistry& registry) {
  json doc = {{"url", registry.url}};
  if (!registry.username.empty()) doc["username"] = registry.username;
  if (!registry.password.empty()) doc["password"] = registry.password;
  return doc;
}

}  // namespace

std::string builder_config_json(const Build& build, const BuilderSetup& setup) {
  const BuildRequest& request = build.request;
  json secrets = json::array();
  for (std::size_t i = 0; i < request.secrets.size() && i < setup.secret_files.size(); ++i) {
    json secret = {{"id", request.secrets[i].id}, {"path", setup.secret_files[i].string()}};
    if (!request.secrets[i].env_var.empty()) secret["env_var"] = request.secrets[i].env_var;
    secrets.push_back(std::move(secret));
  }
  CachePlan plan = cache_plan(build);
  json doc = {
      {"id", build.id},
      {"context_dir", setup.context_dir.string()},
      {"dockerfile", request.dockerfile_path.empty() ? "Dockerfile" : request.dockerfile_path},
      {"dockerfile_text", setup.dockerfile_text},
      {"build_args", request.build_args},
      {"target", request.target.empty() ? json(nullptr) : json(request.target)},
      {"registry", {{"url", setup.registry_url}, {"token", setup.registry_token}}},
      {"output", {{"repository", output_repository(build)}}},
      {"network_mode", network_mode_name(request.network_mode)},
      {"secrets", std::move(secrets)},
      {"timeout_seconds", request.timeout.count()},
      {"work_dir", setup.work_dir.string()},
      {"cache_mount_scope", cache_mount_scope(request)},
      {"result_path", setup.result_path.string()},
      {"is_admin_build", request.is_admin_build},
      {"global_cache_key", request.global_cache_key.empty() ? json(nullptr) : json(request.global_cache_key)},
      {"cache_import", plan.import},
      {"cache_export", plan.export_to ? json(*plan.export_to) : json(nullptr)},
  };
  if (setup.cache_registry) doc["cache_registry"] = cache_registry_json(*setup.cache_registry);
  doc["sandbox"] = json::parse(sandbox::sandbox_policy_json(setup.sandbox));
  return doc.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace strata::builds
