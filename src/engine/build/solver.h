// The builder's top level: Dockerfile + context + build.json -> an image in
// the output repository. Reads and loads the Dockerfile (parser.h,
// instructions.h), the context's .dockerignore, runs the stages the target
// needs in file order (StageExecutor), assembles the image config (created
// = SOURCE_DATE_EPOCH or now, rootfs diff-ids, history) and pushes layers,
// config and manifest (ImagePusher).
//
// Contract: blocking; one build per call. Every mount the build made is gone
// when solve() returns, success or not. When the cancellation fired, the
// error is its reason (BUILD_CANCELLED "cancelled", BUILD_TIMEOUT "timeout
// after Ns") whatever the interrupted step reported. Errors otherwise:
// DOCKERFILE_INVALID ("Dockerfile:<line>: <what>"), DOCKERIGNORE_INVALID,
// RUN_FAILED, COPY_*, registry codes, IO. Nothing is pushed unless every
// stage succeeded, and the manifest is pushed last.
#pragma once

#include "common/error.h"
#include "engine/build/build_config.h"
#include "engine/build/build_log.h"
#include "engine/build/build_result.h"
#include "engine/build/cancellation.h"

namespace strata::engine::build {

Result<BuildResult> solve(const BuildConfig& config, BuildLog& log, const Cancellation& cancel);

}  // namespace strata::engine::build
