// The cache key of a step that writes to the filesystem (RUN, COPY/ADD,
// WORKDIR), from the stage's key chain and the step's inputs as issue 6 and
// engine/cache/step_key.h list them: the canonical expanded instruction, the
// environment a RUN sees (ENV and ARGs; COPY and WORKDIR see variables only
// through their expanded text), user, workdir, shell, network,
// the content of what it reads (COPY/ADD sources and bind mounts: the
// context's files after .dockerignore by content digest, a stage by its
// cache key, an image by its manifest digest), secret ids and variable names
// (never values) and cache-mount targets.
//
// Contract: nullopt when the step cannot be keyed: the stage chain is already
// broken, ADD fetches a URL (its content is only known by fetching it), a
// source stage is not cacheable, or a source cannot be read (the step then
// runs and reports the real error). Not thread-safe (pulls images through
// the session).
#pragma once

#include <optional>

#include "engine/build/build_session.h"
#include "engine/build/source_roots.h"
#include "engine/build/stage_state.h"
#include "engine/dockerfile/instructions.h"
#include "oci/digest.h"

namespace strata::engine::build {

std::optional<oci::Digest> filesystem_step_key(BuildSession& session, SourceRoots& sources, const StageState& stage,
                                               const dockerfile::Command& command, int step);

// The chain after a metadata-only step: its text and the config it left.
oci::Digest metadata_step_key(const StageState& stage, std::string_view instruction);

}  // namespace strata::engine::build
