// The build API (notes/builds-contract.md), Credentials::api on every route:
// the authorization guard has authenticated the caller; these handlers decide
// what it may see and do (a tenant sees only its own builds: another tenant's
// build is 404 BUILD_UNKNOWN, as an unknown one).
//
//   POST   /builds                 multipart form (request_parser.h) -> 202
//   GET    /builds?status=&limit=&after=   -> 200 {"builds":[...],"next_after"}
//   GET    /builds/{id}            -> 200 build object (build_json.h)
//   DELETE /builds/{id}            -> 202 build object; 409 BUILD_FINAL
//   GET    /builds/{id}/logs       -> text/plain, the log lines so far
//   GET    /builds/{id}/events[?follow=true]  -> text/event-stream; resumes
//          after Last-Event-ID (or ?last_event_id=); heartbeats while following
// Logs and events are streamed from disk a batch at a time (chunked), so a
// long log costs the server no more memory than a short one.
//
// Errors: {"error":{"code","message"}}, plus "field" for FIELD_INVALID (400)
// and FORBIDDEN (403) answers about one form field.
//
// The manager, store and logs must outlive the router. Thread-safe.
#pragma once

#include <chrono>

#include "builds/build_store.h"
#include "builds/event_log.h"
#include "builds/manager.h"
#include "http/router.h"

namespace strata::builds {

struct BuildApi {
  BuildManager& manager;
  BuildStore& store;
  EventLogs& logs;
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(15)};
};

void add_build_routes(http::Router& router, const BuildApi& api);

}  // namespace strata::builds
