#include "builds/builder_result.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace strata::builds {
namespace {

using nlohmann::json;

std::unexpected<Error> invalid(std::string_view what) {
  return fail("RESULT_INVALID", "the builder's result is unusable: " + std::string(what));
}

Result<oci::Digest> digest_member(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return invalid(std::string(key) + " is missing");
  auto digest = oci::Digest::parse(it->get<std::string>());
  if (!digest) return invalid(std::string(key) + ": " + digest.error().message);
  return digest;
}

std::string string_member(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<BuildResult> parse_ready(const json& doc, std::string_view engine_version) {
  auto manifest = digest_member(doc, "manifest_digest");
  if (!manifest) return std::unexpected(manifest.error());
  auto config = digest_member(doc, "config_digest");
  if (!config) return std::unexpected(config.error());
  BuildResult result{.manifest_digest = *manifest, .config_digest = *config,
                     .image_reference = string_member(doc, "image"),
                     .engine_version = std::string(engine_version)};
  for (const auto& layer : doc.value("layers", json::array())) {
    if (!layer.is_object()) return invalid("layers must be objects");
    auto digest = digest_member(layer, "digest");
    if (!digest) return std::unexpected(digest.error());
    result.layer_digests.push_back(*digest);
  }
  for (const auto& base : doc.value("base_images", json::array())) {
    if (!base.is_object()) return invalid("base_images must be objects");
    auto digest = digest_member(base, "digest");
    if (!digest) return std::unexpected(digest.error());
    result.base_images.push_back({string_member(base, "ref"), *digest});
  }
  for (const auto& step : doc.value("steps", json::array())) {
    if (!step.is_object()) return invalid("steps must be objects");
    // Only steps with a cache key (RUN, COPY, ADD, WORKDIR) have a cache
    // outcome; FROM and metadata steps are not part of the cache report.
    if (!step.contains("cache")) continue;
    auto outcome = parse_cache_outcome(string_member(step, "cache"));
    if (!outcome) return invalid("steps[].cache must be hit-tenant, hit-global or miss");
    auto duration = step.find("duration_ms");
    result.steps.push_back({string_member(step, "instruction"), *outcome,
                            std::chrono::milliseconds(duration != step.end() && duration->is_number_integer()
                                                          ? duration->get<std::int64_t>()
                                                          : 0)});
  }
  return result;
}

}  // namespace

Result<BuilderOutcome> parse_builder_result(std::string_view text, std::string_view engine_version) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return invalid("not a JSON object");
  std::string status = string_member(doc, "status");
  if (status == "failed") {
    std::string error = string_member(doc, "error");
    return BuilderFailure{error.empty() ? "the builder failed without saying why" : error};
  }
  if (status != "ready") return invalid("status must be \"ready\" or \"failed\"");
  auto result = parse_ready(doc, engine_version);
  if (!result) return std::unexpected(result.error());
  return std::move(*result);
}

Result<BuilderOutcome> read_builder_result(const std::filesystem::path& file, std::string_view engine_version) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return invalid("the builder wrote no result");
  std::stringstream text;
  text << in.rdbuf();
  return parse_builder_result(text.str(), engine_version);
}

}  // namespace strata::builds
