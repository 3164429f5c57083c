// COPY and ADD: files from the context (filtered by .dockerignore), another
// stage or an image, copied natively (fs::copy_into) into a mount of the
// stage's filesystem; the mount's changes become the step's layer.
// Relative destinations are taken from WORKDIR (keeping a trailing '/'),
// --chown is resolved through the destination image's /etc/passwd and
// /etc/group, --chmod is octal. ADD <url> (egress builds only) connects only
// to addresses the build's egress policy allows.
//
// Errors: those of fs::copy_into (COPY_SOURCE_MISSING, COPY_INVALID, IO),
// USER_UNKNOWN/GROUP_UNKNOWN for --chown, COPY_INVALID for a bad --chmod or
// ADD --checksum (not supported), EGRESS_NOT_ALLOWED for an ADD URL whose
// host is on a denied address, and snapshot/layer errors. The step's
// mounts are released whatever happens.
#pragma once

#include <optional>

#include "common/error.h"
#include "engine/build/build_session.h"
#include "engine/build/source_roots.h"
#include "engine/build/stage_state.h"
#include "engine/dockerfile/instructions.h"

namespace strata::engine::build {

// nullopt: the copy changed nothing (no layer).
Result<std::optional<ImageLayer>> copy_step(BuildSession& session, SourceRoots& sources, const StageState& stage,
                                            const dockerfile::CopyCommand& copy, int step);

}  // namespace strata::engine::build
