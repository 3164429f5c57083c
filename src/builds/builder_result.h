// The result JSON `strata builder` writes (notes/builder-contract.md), read
// back into the build's record: on "ready" the pushed digests, layers, base
// images and the per-step cache report; on "failed" the error. The cache
// report lists the steps with a "cache" member ("hit-tenant", "hit-global",
// "miss"): the steps that have a cache key; others are left out.
//
// Pure apart from reading the file; thread-safe. Errors: RESULT_INVALID (no
// file, not JSON, or a member of the wrong type; the build then fails with
// that message).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

#include "builds/build_record.h"
#include "common/error.h"

namespace strata::builds {

struct BuilderFailure {
  std::string error;
};

using BuilderOutcome = std::variant<BuildResult, BuilderFailure>;

// `engine_version` is recorded in the result's provenance.
Result<BuilderOutcome> parse_builder_result(std::string_view json, std::string_view engine_version);
Result<BuilderOutcome> read_builder_result(const std::filesystem::path& file, std::string_view engine_version);

}  // namespace strata::builds
