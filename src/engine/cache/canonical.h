// Canonical text of an expanded RUN or COPY/ADD instruction for its cache
// key: every field of the parsed command that can change what the step
// does, in a fixed order, as compact JSON. Whitespace, line continuations
// and variable spelling in the Dockerfile do not change it; a different
// command, flag, mount or path does. Pure; nlohmann stays in the .cpp.
#pragma once

#include <string>

#include "engine/dockerfile/instructions.h"

namespace strata::engine::cache {

std::string canonical_run(const dockerfile::RunCommand& run);
std::string canonical_copy(const dockerfile::CopyCommand& copy);

}  // namespace strata::engine::cache
