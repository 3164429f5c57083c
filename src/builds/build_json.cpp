#include "builds/build_json.h"

#include <nlohmann/json.hpp>

#include "common/rfc3339.h"

namespace strata::builds {
namespace {

using nlohmann::json;

std::string timestamp(Timestamp at) {
  return rfc3339(std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count());
}

json optional_timestamp(const std::optional<Timestamp>& at) { return at ? json(timestamp(*at)) : json(nullptr); }

json text_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json position_json(std::optional<std::size_t> position) { return position ? json(*position) : json(nullptr); }

json request_json(const BuildRequest& request) {
  json secrets = json::array();
  for (const auto& secret : request.secrets) secrets.push_back(secret.id);
  return {{"cache_scope", text_or_null(request.cache_scope)},
          {"global_cache_key", text_or_null(request.global_cache_key)},
          {"is_admin_build", request.is_admin_build},
          {"build_args", request.build_args},
          {"target", text_or_null(request.target)},
          {"secrets", std::move(secrets)},
          {"timeout_seconds", request.timeout.count()},
          {"network_mode", network_mode_name(request.network_mode)},
          {"dockerfile_path", request.dockerfile_path.empty() ? "Dockerfile" : request.dockerfile_path}};
}

std::int64_t ms_between(Timestamp from, Timestamp to) { return (to - from).count(); }

json durations_json(const Build& build) {
  Timestamp now = now_timestamp();
  Timestamp end = build.finished_at.value_or(now);
  // A build cancelled while queued never started: it waited until it ended.
  Timestamp started = build.started_at.value_or(end);
  return {{"queued_ms", ms_between(build.created_at, started)},
          {"build_ms", build.started_at ? json(ms_between(*build.started_at, end)) : json(nullptr)},
          {"total_ms", ms_between(build.created_at, end)}};
}

json cache_json(const BuildResult& result) {
  json steps = json::array();
  for (const auto& step : result.steps)
    steps.push_back({{"instruction", step.instruction},
                     {"result", cache_outcome_name(step.outcome)},
                     {"duration_ms", step.duration.count()}});
  CacheTotals totals = cache_totals(result.steps);
  return {{"steps", std::move(steps)},
          {"totals", {{"hit_tenant", totals.hit_tenant}, {"hit_global", totals.hit_global}, {"miss", totals.miss},
                      {"duration_ms", totals.duration.count()}}}};
}

json provenance_json(const Build& build) {
  json bases = json::array();
  std::string engine;
  if (build.result) {
    for (const auto& base : build.result->base_images)
      bases.push_back({{"ref", base.reference}, {"digest", base.digest.str()}});
    engine = build.result->engine_version;
  }
  const auto& dockerfile = build.request.dockerfile_digest;
  return {{"source_digest", build.request.source_digest.str()},
          {"dockerfile_digest", dockerfile ? json(dockerfile->str()) : json(nullptr)},
          {"base_images", std::move(bases)},
          {"engine_version", text_or_null(engine)}};
}

json build_object(const Build& build, std::optional<std::size_t> queue_position) {
  json doc = {{"id", build.id},
              {"status", status_name(build.status)},
              {"tenant", text_or_null(build.tenant)},
              {"created_at", timestamp(build.created_at)},
              {"started_at", optional_timestamp(build.started_at)},
              {"finished_at", optional_timestamp(build.finished_at)},
              {"queue_position", position_json(queue_position)},
              {"error", text_or_null(build.error)},
              {"attempt", build.attempt},
              {"request", request_json(build.request)},
              {"image", nullptr},
              {"manifest_digest", nullptr},
              {"config_digest", nullptr},
              {"layers", json::array()},
              {"durations", durations_json(build)},
              {"cache", nullptr},
              {"provenance", provenance_json(build)}};
  if (const auto& result = build.result) {
    doc["image"] = result->image_reference;
    doc["manifest_digest"] = result->manifest_digest.str();
    doc["config_digest"] = result->config_digest.str();
    for (const auto& layer : result->layer_digests) doc["layers"].push_back(layer.str());
    doc["cache"] = cache_json(*result);
  }
  return doc;
}

std::string dump(const json& doc) { return doc.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string build_json(const Build& build, std::optional<std::size_t> queue_position) {
  return dump(build_object(build, queue_position));
}

std::string build_list_json(const std::vector<Build>& builds,
                            const std::vector<std::optional<std::size_t>>& queue_positions,
                            const std::string& next_after) {
  json list = json::array();
  for (std::size_t i = 0; i < builds.size(); ++i)
    list.push_back(build_object(builds[i], i < queue_positions.size() ? queue_positions[i] : std::nullopt));
  return dump({{"builds", std::move(list)}, {"next_after", text_or_null(next_after)}});
}

std::string accepted_build_json(const Build& build, std::optional<std::size_t> queue_position) {
  return dump({{"id", build.id},
               {"status", status_name(build.status)},
               {"queue_position", position_json(queue_position)},
               {"created_at", timestamp(build.created_at)}});
}

}  // namespace strata::builds
