// Server-sent events framing (WHATWG HTML, "Server-sent events") for
// GET /builds/{id}/events: one build event per SSE event, its seq as the SSE
// id so a reconnecting client's Last-Event-ID says where to resume.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "builds/event_log.h"

namespace strata::builds {

// "id: <seq>\nevent: <type>\ndata: <line>\n...\n\n". Data holding line breaks
// (\n, \r\n or \r) becomes one data: line per line, which a client joins back
// with "\n".
std::string sse_event(const BuildEvent& event);

// "event: heartbeat\ndata: {}\n\n": keeps idle connections and proxies alive.
// It carries no id, so it leaves the client's Last-Event-ID unchanged.
std::string sse_heartbeat();

// The seq to resume after, from a Last-Event-ID header: a decimal event id.
// nullopt for anything else (the client then starts from the beginning).
std::optional<std::uint64_t> parse_last_event_id(std::string_view header);

}  // namespace strata::builds
