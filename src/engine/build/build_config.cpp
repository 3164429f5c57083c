#include "engine/build/build_config.h"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/remote/platform.h"

namespace strata::engine::build {
namespace {

using nlohmann::json;

std::unexpected<Error> invalid(std::string_view field, std::string_view what) {
  return fail("CONFIG_INVALID", fmt::format("build config: \"{}\" {}", field, what));
}

// The member `key` of `object` when present and not null.
const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

Result<std::optional<std::string>> optional_string(const json& object, const char* key) {
  const json* value = member(object, key);
  if (!value) return std::nullopt;
  if (!value->is_string()) return invalid(key, "must be a string");
  return value->get<std::string>();
}

Result<std::string> required_string(const json& object, const char* key) {
  auto value = optional_string(object, key);
  if (!value) return std::unexpected(value.error());
  if (!*value || (*value)->empty()) return invalid(key, "is required");
  return std::move(**value);
}

Result<std::filesystem::path> absolute_path(const json& object, const char* key) {
  auto text = required_string(object, key);
  if (!text) return std::unexpected(text.error());
  std::filesystem::path path(*text);
  if (!path.is_absolute()) return invalid(key, "must be an absolute path");
  return path;
}

Result<oci::Platform> parse_platform(std::string_view text) {
  oci::Platform platform;
  auto first = text.find('/');
  if (first == std::string_view::npos) return invalid("platform", "must look like linux/amd64 or linux/arm64/v8");
  platform.os = text.substr(0, first);
  auto rest = text.substr(first + 1);
  auto second = rest.find('/');
  platform.architecture = rest.substr(0, second);
  if (second != std::string_view::npos) platform.variant = rest.substr(second + 1);
  if (platform.os.empty() || platform.architecture.empty())
    return invalid("platform", "must look like linux/amd64 or linux/arm64/v8");
  return remote::normalize(platform);
}

// "http://127.0.0.1:8083/" -> "127.0.0.1:8083".
std::string host_of(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  return std::string(url.substr(0, url.find('/')));
}

// One entry of "registries": {"mirror": "host/ns"} or {"url", "insecure",
// "username", "password"}. "insecure" without a url means plain HTTP, which
// is how registries on a private network are usually run.
Result<void> add_registry(remote::RegistryConfig& registries, const std::string& host, const json& entry) {
  std::string field = "registries." + host;
  if (!entry.is_object()) return invalid(field, "must be an object");
  auto mirror = optional_string(entry, "mirror");
  if (!mirror) return std::unexpected(mirror.error());
  if (*mirror) {
    registries.mirrors[host] = **mirror;
    return {};
  }
  remote::RegistryEndpoint endpoint = registries.endpoint_for(host);
  bool insecure = false;
  if (const json* flag = member(entry, "insecure")) {
    if (!flag->is_boolean()) return invalid(field + ".insecure", "must be a boolean");
    insecure = flag->get<bool>();
  }
  auto url = optional_string(entry, "url");
  if (!url) return std::unexpected(url.error());
  if (*url) endpoint.base_url = **url;
  else if (insecure) endpoint.base_url = "http://" + host;
  endpoint.insecure = insecure;
  auto username = optional_string(entry, "username");
  auto password = optional_string(entry, "password");
  if (!username) return std::unexpected(username.error());
  if (!password) return std::unexpected(password.error());
  if (*username) endpoint.credentials = remote::Credentials::basic(**username, password->value_or(""));
  registries.registries[host] = std::move(endpoint);
  return {};
}

Result<std::int64_t> parse_epoch(std::string_view text, std::string_view field) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0)
    return invalid(field, "must be a non-negative integer (seconds since the epoch)");
  return value;
}

class ConfigReader {
 public:
  explicit ConfigReader(const json& doc) : doc_(doc) {}

  Result<BuildConfig> read() {
    BuildConfig config;
    for (auto step : {&ConfigReader::read_source, &ConfigReader::read_registry, &ConfigReader::read_output,
                      &ConfigReader::read_execution, &ConfigReader::read_work, &ConfigReader::read_cache,
                      &ConfigReader::read_sandbox}) {
      if (auto ok = (this->*step)(config); !ok) return std::unexpected(ok.error());
    }
    return config;
  }

 private:
  Result<void> read_source(BuildConfig& config) {
    auto id = required_string(doc_, "id");
    if (!id) return std::unexpected(id.error());
    config.id = *id;
    auto context = absolute_path(doc_, "context_dir");
    if (!context) return std::unexpected(context.error());
    config.context_dir = *context;
    auto dockerfile = optional_string(doc_, "dockerfile");
    auto text = optional_string(doc_, "dockerfile_text");
    auto target = optional_string(doc_, "target");
    for (auto* r : {&dockerfile, &text, &target})
      if (!*r) return std::unexpected(r->error());
    if (*dockerfile) config.dockerfile = **dockerfile;
    config.dockerfile_text = *text;
    config.target = target->value_or("");
    if (const json* args = member(doc_, "build_args")) {
      if (!args->is_object()) return invalid("build_args", "must be an object of strings");
      for (const auto& [key, value] : args->items()) {
        if (!value.is_string()) return invalid("build_args." + key, "must be a string");
        config.build_args[key] = value.get<std::string>();
      }
    }
    auto platform = optional_string(doc_, "platform");
    if (!platform) return std::unexpected(platform.error());
    if (*platform) {
      auto parsed = parse_platform(**platform);
      if (!parsed) return std::unexpected(parsed.error());
      config.platform = *parsed;
    } else {
      config.platform = remote::host_platform();
    }
    return {};
  }

  Result<void> read_registry(BuildConfig& config) {
    const json* registry = member(doc_, "registry");
    if (!registry || !registry->is_object()) return invalid("registry", "must be an object with url and token");
    auto url = required_string(*registry, "url");
    if (!url) return std::unexpected(url.error());
    if (!url->starts_with("http://") && !url->starts_with("https://"))
      return invalid("registry.url", "must start with http:// or https://");
    while (url->ends_with('/')) url->pop_back();
    config.registry_url = *url;
    auto token = optional_string(*registry, "token");
    if (!token) return std::unexpected(token.error());
    config.registry_token = *token;
    if (const json* registries = member(doc_, "registries")) {
      if (!registries->is_object()) return invalid("registries", "must be an object");
      for (const auto& [host, entry] : registries->items())
        if (auto ok = add_registry(config.registries, host, entry); !ok) return ok;
    }
    // Our own registry is always reached with the build's token, whatever
    // the registries section says about its host.
    config.registries.registries[config.registry_host()] = config.output_endpoint();
    return {};
  }

  Result<void> read_output(BuildConfig& config) {
    const json* output = member(doc_, "output");
    if (!output || !output->is_object()) return invalid("output", "must be an object with a repository");
    auto repository = required_string(*output, "repository");
    if (!repository) return std::unexpected(repository.error());
    if (auto ok = oci::validate_repository_name(*repository); !ok)
      return invalid("output.repository", ok.error().message);
    config.output_repository = *repository;
    auto tag = optional_string(*output, "tag");
    if (!tag) return std::unexpected(tag.error());
    if (*tag) {
      if (auto ok = oci::validate_tag(**tag); !ok) return invalid("output.tag", ok.error().message);
      config.output_tag = *tag;
    }
    auto result = optional_string(doc_, "result_path");
    if (!result) return std::unexpected(result.error());
    if (*result) config.result_path = **result;
    return {};
  }

  Result<void> read_execution(BuildConfig& config) {
    auto network = optional_string(doc_, "network_mode");
    if (!network) return std::unexpected(network.error());
    if (*network && **network == "egress") config.network_mode = NetworkMode::egress;
    else if (*network && **network != "isolated") return invalid("network_mode", "must be \"isolated\" or \"egress\"");
    if (const json* secrets = member(doc_, "secrets")) {
      if (!secrets->is_array()) return invalid("secrets", "must be an array of {id, path, env_var?}");
      for (const auto& item : *secrets) {
        if (!item.is_object()) return invalid("secrets", "entries must be objects with id and path");
        auto id = required_string(item, "id");
        if (!id) return std::unexpected(id.error());
        auto path = absolute_path(item, "path");
        if (!path) return std::unexpected(path.error());
        auto env_var = optional_string(item, "env_var");
        if (!env_var) return std::unexpected(env_var.error());
        std::string name = env_var->value_or("");
        // An '=' in the name would smuggle a different variable into the env.
        if (*env_var && (name.empty() || name.contains('=')))
          return invalid("env_var", "must be a non-empty variable name without '='");
        config.secrets.push_back({*id, *path, std::move(name)});
      }
    }
    if (const json* timeout = member(doc_, "timeout_seconds")) {
      if (!timeout->is_number_integer() || timeout->get<std::int64_t>() <= 0)
        return invalid("timeout_seconds", "must be a positive integer");
      config.timeout = std::chrono::seconds(timeout->get<std::int64_t>());
    }
    if (const json* epoch = member(doc_, "source_date_epoch")) {
      if (!epoch->is_number_integer() || epoch->get<std::int64_t>() < 0)
        return invalid("source_date_epoch", "must be a non-negative integer");
      config.source_date_epoch = epoch->get<std::int64_t>();
    } else if (auto arg = config.build_args.find("SOURCE_DATE_EPOCH"); arg != config.build_args.end()) {
      auto value = parse_epoch(arg->second, "build_args.SOURCE_DATE_EPOCH");
      if (!value) return std::unexpected(value.error());
      config.source_date_epoch = *value;
    }
    return {};
  }

  Result<void> read_work(BuildConfig& config) {
    if (member(doc_, "work_dir")) {
      auto dir = absolute_path(doc_, "work_dir");
      if (!dir) return std::unexpected(dir.error());
      config.work_dir = *dir;
    } else {
      config.work_dir = std::filesystem::temp_directory_path() / "strata-builder";
    }
    auto scope = optional_string(doc_, "cache_mount_scope");
    if (!scope) return std::unexpected(scope.error());
    if (*scope && !(*scope)->empty()) config.cache_mount_scope = **scope;
    auto compression = optional_string(doc_, "layer_compression");
    if (!compression) return std::unexpected(compression.error());
    if (*compression && **compression == "zstd") config.layer_compression = layer::LayerCompression::zstd;
    else if (*compression && **compression != "gzip") return invalid("layer_compression", "must be \"gzip\" or \"zstd\"");
    return {};
  }

  Result<void> read_sandbox(BuildConfig& config) {
    const json* sandbox = member(doc_, "sandbox");
    if (!sandbox) return {};
    auto policy = sandbox::parse_sandbox_policy(sandbox->dump());
    if (!policy) return invalid("sandbox", policy.error().message);
    config.sandbox = std::move(*policy);
    return {};
  }

  Result<void> read_cache(BuildConfig& config) {
    auto& cache = config.cache;
    if (const json* import = member(doc_, "cache_import")) {
      if (!import->is_array()) return invalid("cache_import", "must be an array of repository names");
      for (const auto& item : *import) {
        if (!item.is_string() || !oci::validate_repository_name(item.get<std::string>()))
          return invalid("cache_import", "entries must be repository names");
        cache.import.push_back(item.get<std::string>());
      }
    }
    auto export_to = optional_string(doc_, "cache_export");
    if (!export_to) return std::unexpected(export_to.error());
    if (*export_to && !oci::validate_repository_name(**export_to))
      return invalid("cache_export", "must be a repository name");
    cache.export_to = *export_to;
    if (const json* admin = member(doc_, "is_admin_build")) {
      if (!admin->is_boolean()) return invalid("is_admin_build", "must be a boolean");
      cache.is_admin_build = admin->get<bool>();
    }
    if (const json* registry = member(doc_, "cache_registry")) {
      auto url = registry->is_object() ? required_string(*registry, "url") : invalid("cache_registry", "must be an object");
      if (!url) return std::unexpected(url.error());
      if (!url->starts_with("http://") && !url->starts_with("https://"))
        return invalid("cache_registry.url", "must start with http:// or https://");
      while (url->ends_with('/')) url->pop_back();
      remote::RegistryConfig endpoints;
      if (auto ok = add_registry(endpoints, "cache_registry", *registry); !ok) return ok;
      cache.registry = endpoints.registries.at("cache_registry");
      cache.registry->base_url = *url;
    }
    return {};
  }

  const json& doc_;
};

}  // namespace

std::string BuildConfig::registry_host() const { return host_of(registry_url); }

remote::RegistryEndpoint BuildConfig::output_endpoint() const {
  return {registry_url, false,
          registry_token ? remote::Credentials::bearer(*registry_token) : remote::Credentials::anonymous()};
}

remote::RegistryEndpoint BuildConfig::cache_endpoint() const { return cache.registry.value_or(output_endpoint()); }

Result<BuildConfig> parse_build_config(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("CONFIG_INVALID", "build config is not a JSON object");
  return ConfigReader(doc).read();
}

}  // namespace strata::engine::build
