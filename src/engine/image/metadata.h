// How the metadata-only Dockerfile instructions change an image config, with
// Docker's rules: ENV replaces a variable in place, WORKDIR resolves against
// the previous WORKDIR, CMD/ENTRYPOINT/HEALTHCHECK shell forms run through
// the stage's SHELL, and an ENTRYPOINT clears the CMD inherited from the base
// unless this stage set CMD itself (hence StageMetadata). FROM and ARG are not
// metadata here: the stage executor handles them.
//
// Contract: the command must already be expanded (dockerfile::expand_variables).
// Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "engine/dockerfile/instructions.h"
#include "engine/image/image_config.h"

namespace strata::engine::image {

// What Docker tracks beside the config while a stage is built.
struct StageMetadata {
  bool cmd_set = false;  // a CMD in this stage: ENTRYPOINT keeps it
};

// Whether `command` only changes the config (ENV, LABEL, EXPOSE, VOLUME,
// STOPSIGNAL, HEALTHCHECK, CMD, ENTRYPOINT, SHELL, ONBUILD, USER, WORKDIR).
// WORKDIR also creates its directory, which the caller does.
bool is_metadata(const dockerfile::Command& command);

// Applies a metadata command. Precondition: is_metadata(command).
void apply_metadata(ContainerConfig& config, StageMetadata& stage, const dockerfile::Command& command);

// `path` resolved against `working_dir` and cleaned ("/a/./b/../c" -> "/a/c").
std::string resolve_workdir(std::string_view working_dir, std::string_view path);

}  // namespace strata::engine::image
