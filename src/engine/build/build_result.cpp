#include "engine/build/build_result.h"

#include <nlohmann/json.hpp>

namespace strata::engine::build {

using nlohmann::json;

std::string result_json(const BuildResult& result) {
  json layers = json::array();
  for (const auto& layer : result.layers)
    layers.push_back({{"digest", layer.blob.digest.str()},
                      {"diff_id", layer.diff_id.str()},
                      {"size", layer.blob.size},
                      {"media_type", layer.blob.media_type}});
  json bases = json::array();
  for (const auto& base : result.base_images) bases.push_back({{"ref", base.ref}, {"digest", base.digest.str()}});
  json steps = json::array();
  for (const auto& step : result.steps) {
    json item = {{"index", step.index},
                 {"stage", step.stage},
                 {"instruction", step.instruction},
                 {"duration_ms", step.duration.count()},
                 {"layer", step.layer ? json(step.layer->str()) : json(nullptr)}};
    if (step.cache) item["cache"] = *step.cache;
    steps.push_back(std::move(item));
  }
  json doc = {{"status", "ready"},
              {"manifest_digest", result.manifest_digest.str()},
              {"config_digest", result.config_digest.str()},
              {"image", result.image},
              {"layers", std::move(layers)},
              {"base_images", std::move(bases)},
              {"steps", std::move(steps)},
              {"duration_ms", result.duration.count()}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string failure_json(const Error& error) {
  return json{{"status", "failed"}, {"error", error.message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace strata::engine::build
