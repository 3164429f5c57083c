// The API's JSON form of a build (GET /builds/{id}, list items, the body of
// 202 answers), as notes/builds-contract.md lays it out: status and times,
// the request as accepted, the image and its digests, durations, the cache
// report and provenance. Members that do not apply yet (no result, not
// queued, not finished) are null. Timestamps are RFC 3339 UTC.
// Pure; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "builds/build_record.h"

namespace strata::builds {

// `queue_position` is 1-based, given for queued builds.
std::string build_json(const Build& build, std::optional<std::size_t> queue_position);

// {"builds":[...],"next_after":id|null}; positions parallel to `builds`.
std::string build_list_json(const std::vector<Build>& builds,
                            const std::vector<std::optional<std::size_t>>& queue_positions,
                            const std::string& next_after);

// The 202 answer to POST /builds: {"id","status","queue_position","created_at"}.
std::string accepted_build_json(const Build& build, std::optional<std::size_t> queue_position);

}  // namespace strata::builds
