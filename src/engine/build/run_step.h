// RUN: one command in a runc container over the stage's filesystem, whose
// changes become the step's layer.
//
// The container gets the stage's environment (ENV plus ARGs), USER resolved
// through the image's /etc/passwd, WORKDIR (created if missing), SHELL for
// shell form, and heredoc bodies appended to the script as the shell reads
// them. Network (exec/build_network.h): the build's isolated namespace, or
// its egress namespace when the build may reach the network
// (network_mode=egress) and the step did not ask for --network=none;
// RUN --network=host means the egress namespace, never the host's network.
// --mount: type=secret binds the build's secret file read-only at
// /run/secrets/<id> (or exposes it as env=...), never in the layer;
// type=cache binds <work>/cache-mounts/<scope>/<id> read-write, kept across
// builds (sharing=locked/private serialise users with a lock); type=bind
// binds a path of the context, a stage or an image read-only.
//
// The container runs in a child of the build's cgroup (exec/build_cgroup.h),
// under the build's limits. Its output goes to the build log, clipped there
// at the step and build log limits.
//
// Errors: RUN_FAILED for a non-zero exit ("process \"/bin/sh -c ...\" did not
// complete successfully: exit code: N", plus "; process limit (N) reached"
// when the build's process limit was hit; the output's last lines, bounded,
// as detail), RUN_OOM when the kernel killed a process of the step for lack
// of memory ("the build ran out of memory: memory limit (4 GiB) reached; the
// step was killed ..."), SECRET_MISSING, RUN_INVALID (bad mounts or network),
// NETWORK_SETUP, the executor's RUN_TIMEOUT/RUN_CANCELLED, snapshot and layer errors.
// Whatever happens, the step's mounts are released.
#pragma once

#include <optional>

#include "common/error.h"
#include "engine/build/build_session.h"
#include "engine/build/source_roots.h"
#include "engine/build/stage_state.h"
#include "engine/dockerfile/instructions.h"

namespace strata::engine::build {

struct RunOutcome {
  std::string created_by;             // history: "RUN /bin/sh -c echo hi"
  std::optional<ImageLayer> layer;    // nullopt: the command changed nothing
};

Result<RunOutcome> run_step(BuildSession& session, SourceRoots& sources, const StageState& stage,
                            const dockerfile::RunCommand& run, int step);

}  // namespace strata::engine::build
