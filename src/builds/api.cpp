#include "builds/api.h"

#include <charconv>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "auth/caller.h"
#include "auth/error_responses.h"
#include "builds/build_json.h"
#include "builds/request_parser.h"
#include "builds/sse.h"

namespace strata::builds {
namespace {

using nlohmann::json;

http::Response error_response(const Error& error) {
  if (error.code == kFieldInvalid || error.code == kForbidden) {
    json body = {{"error", {{"code", error.code}, {"message", error.message}, {"field", error.detail}}}};
    return http::Response::json(error.code == kForbidden ? 403 : 400,
                                body.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (error.code == "MULTIPART_INVALID" || error.code == "TOO_LARGE" || error.code == "PAGINATION_INVALID")
    return auth::api_error(400, error.code, error.message);
  if (error.code == "BUILD_UNKNOWN") return auth::api_error(404, error.code, error.message);
  if (error.code == "BUILD_FINAL") return auth::api_error(409, error.code, error.message);
  if (error.code == "NO_SPACE") {
    auto response = auth::api_error(503, error.code, error.message + "; try again later");
    response.headers.set("Retry-After", "30");
    return response;
  }
  spdlog::error("build API: {}: {}", error.code, error.message);
  return auth::api_error(500, "INTERNAL", "internal error");
}

// The build if the caller may see it; BUILD_UNKNOWN otherwise, so a tenant
// cannot tell another tenant's build from one that does not exist.
Result<Build> visible_build(BuildStore& store, const auth::Principal& caller, const std::string& id) {
  auto unknown = [&id] { return fail("BUILD_UNKNOWN", fmt::format("build {} is unknown", id)); };
  if (!is_valid_build_id(id)) return unknown();
  auto build = store.get(id);
  if (!build) return build;
  if (!caller.is_operator() && build->tenant != caller.tenant) return unknown();
  return build;
}

std::optional<std::size_t> position_of(BuildStore& store, const Build& build) {
  if (build.status != BuildStatus::queued) return std::nullopt;
  auto position = store.queue_position(build.id);
  return position ? *position : std::nullopt;
}

const auth::Principal& caller_of(const http::Request& request) {
  // The guard sets the caller on every Credentials::api route before a handler runs.
  return *auth::api_caller(request);
}

http::Response create_build(const BuildApi& api, http::Request& request) {
  const auth::Principal& caller = caller_of(request);
  auto content_type = request.headers.get("Content-Type");
  FormLimits limits{api.manager.staging_dir(), api.manager.options().source_limits.max_content_bytes};
  auto form = receive_build_form(*request.body, content_type.value_or(""), limits);
  if (!form) return error_response(form.error());
  auto validated = validate_build_form(form->fields, form->source.digest(), form->source.size(), caller,
                                       api.manager.secrets());
  if (!validated) {
    if (validated.error().code == kForbidden)
      spdlog::warn("build refused: subject={} field={}: {}", caller.subject(), validated.error().detail,
                   validated.error().message);
    return error_response(validated.error());
  }
  auto submitted = api.manager.submit(caller, std::move(*validated), std::move(form->source));
  if (!submitted) return error_response(submitted.error());
  auto response =
      http::Response::json(202, accepted_build_json(submitted->build, submitted->queue_position));
  response.headers.set("Location", "/builds/" + submitted->build.id);
  return response;
}

Result<std::size_t> parse_limit(const std::optional<std::string>& text) {
  if (!text) return std::size_t{100};
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value == 0 || value > kMaxBuildListLimit)
    return fail("PAGINATION_INVALID", fmt::format("limit must be an integer from 1 to {}", kMaxBuildListLimit));
  return value;
}

http::Response list_builds(const BuildApi& api, http::Request& request) {
  const auth::Principal& caller = caller_of(request);
  BuildQuery query;
  if (!caller.is_operator()) query.tenant = caller.tenant;
  if (auto status = request.query_param("status")) {
    query.status = parse_build_status(*status);
    if (!query.status)
      return auth::api_error(400, "STATUS_INVALID", fmt::format("status \"{}\" is not a build status", *status));
  }
  auto limit = parse_limit(request.query_param("limit"));
  if (!limit) return error_response(limit.error());
  query.limit = *limit;
  query.after = request.query_param("after").value_or("");
  auto page = api.store.list(query);
  if (!page) return error_response(page.error());
  std::vector<std::optional<std::size_t>> positions;
  for (const auto& build : page->builds) positions.push_back(position_of(api.store, build));
  return http::Response::json(200, build_list_json(page->builds, positions, page->next_after));
}

http::Response get_build(const BuildApi& api, http::Request& request) {
  auto build = visible_build(api.store, caller_of(request), request.param("id"));
  if (!build) return error_response(build.error());
  return http::Response::json(200, build_json(*build, position_of(api.store, *build)));
}

http::Response cancel_build(const BuildApi& api, http::Request& request) {
  const auth::Principal& caller = caller_of(request);
  auto build = visible_build(api.store, caller, request.param("id"));
  if (!build) return error_response(build.error());
  auto cancelled = api.manager.cancel(build->id);
  if (!cancelled) return error_response(cancelled.error());
  spdlog::info("build {} cancel by {}: now {}", build->id, caller.subject(), status_name(cancelled->status));
  return http::Response::json(202, build_json(*cancelled, position_of(api.store, *cancelled)));
}

// The log lines of the events up to the one that was last when the request
// came, one batch at a time: a log of any length is served in bounded memory.
void stream_log_text(const EventLog& log, std::uint64_t last, const http::StreamWriter& write) {
  std::string chunk;
  for (std::uint64_t after = 0; after < last;) {
    auto batch = log.read_from(after);
    if (!batch || batch->events.empty()) return;
    for (const auto& event : batch->events) {
      if (event.seq > last) break;
      after = event.seq;
      if (event.type != EventType::log) continue;
      chunk += event.data;
      chunk += '\n';
    }
    if (!write(chunk)) return;
    chunk.clear();
  }
}

http::Response build_logs(const BuildApi& api, http::Request& request) {
  auto build = visible_build(api.store, caller_of(request), request.param("id"));
  if (!build) return error_response(build.error());
  auto log = api.logs.open(build->id);
  if (!log) return error_response(log.error());
  http::Response response;
  response.status = 200;
  response.headers.set("Content-Type", "text/plain; charset=utf-8");
  response.body = http::StreamBody{[log = std::move(*log)](const http::StreamWriter& write) {
    stream_log_text(*log, log->last_seq(), write);
  }};
  return response;
}

// Resume point: the Last-Event-ID header wins over ?last_event_id=.
std::uint64_t resume_after(const http::Request& request) {
  if (auto header = request.headers.get("Last-Event-ID"))
    if (auto seq = parse_last_event_id(*header)) return *seq;
  if (auto param = request.query_param("last_event_id"))
    if (auto seq = parse_last_event_id(*param)) return *seq;
  return 0;
}

// Streams events after `after`, one batch per chunk: without follow up to
// the event that was last when the request came; with follow until the log
// is closed, with heartbeats while nothing happens.
void stream_events(const EventLog& log, std::uint64_t after, bool follow, std::chrono::milliseconds heartbeat,
                   const http::StreamWriter& write) {
  const std::uint64_t last = follow ? std::numeric_limits<std::uint64_t>::max() : log.last_seq();
  while (after < last) {
    auto batch = follow ? log.wait_for(after, heartbeat) : log.read_from(after);
    if (!batch) return;
    if (batch->events.empty()) {
      if (!follow || batch->finished) return;
      if (!write(sse_heartbeat())) return;
      continue;
    }
    std::string chunk;
    for (const auto& event : batch->events) {
      if (event.seq > last) break;
      chunk += sse_event(event);
      after = event.seq;
    }
    if (!write(chunk) || batch->finished) return;
  }
}

http::Response build_events(const BuildApi& api, http::Request& request) {
  auto build = visible_build(api.store, caller_of(request), request.param("id"));
  if (!build) return error_response(build.error());
  auto log = api.logs.open(build->id);
  if (!log) return error_response(log.error());
  auto follow_param = request.query_param("follow");
  bool follow = follow_param && (*follow_param == "true" || *follow_param == "1");
  std::uint64_t after = resume_after(request);
  http::Response response;
  response.status = 200;
  response.headers.set("Content-Type", "text/event-stream");
  response.headers.set("Cache-Control", "no-cache");
  response.headers.set("X-Accel-Buffering", "no");
  response.body = http::StreamBody{[log = std::move(*log), after, follow, heartbeat = api.heartbeat_interval](
                                       const http::StreamWriter& write) {
    stream_events(*log, after, follow, heartbeat, write);
  }};
  return response;
}

}  // namespace

void add_build_routes(http::Router& router, const BuildApi& api) {
  using Handler = http::Response (*)(const BuildApi&, http::Request&);
  auto add = [&router, &api](const char* method, const char* pattern, const char* id, Handler handler) {
    router.add({method, pattern, id, http::Action::none,
                [api, handler](http::Request& request) { return handler(api, request); }, http::Credentials::api});
  };
  add("POST", "/builds", "builds_create", create_build);
  add("GET", "/builds", "builds_list", list_builds);
  // The longer patterns first: the router tries routes in order.
  add("GET", "/builds/{id}/logs", "builds_logs", build_logs);
  add("GET", "/builds/{id}/events", "builds_events", build_events);
  add("GET", "/builds/{id}", "builds_get", get_build);
  add("DELETE", "/builds/{id}", "builds_cancel", cancel_build);
}

}  // namespace strata::builds
