// Runs one build stage: FROM (scratch, an earlier stage, or a pulled image),
// then each instruction in order with the stage's ARG/ENV scope:
// ARG declares (build args override defaults), every other instruction is
// expanded through dockerfile::expand_variables, metadata instructions
// update the config, RUN/COPY/ADD (and WORKDIR when it creates its
// directory) add a layer. Each instruction adds a history entry
// (empty_layer when it added no layer), except ARG, as in BuildKit.
//
// Build cache: each stage keeps a key chain (step_key_inputs.h). A step that
// writes to the filesystem is first looked up in the build cache; a hit
// takes the entry's layer (downloaded only if a later step runs on it) and
// logs CACHED [tenant|global]; the stage's first miss runs that step and
// every later one. Every keyed step is recorded for the cache export. If a
// hit's layer turns out to be unavailable when a later step needs it
// (CACHE_LAYER_UNAVAILABLE), the stage runs again without cache lookups.
//
// Contract: stages a stage depends on must be in `finished` already (the
// solver runs them in stages_for_target order). Each step is logged and
// recorded in `steps`. Errors stop the stage at once and are logged as the
// step's ERROR line; mounts are released by the steps themselves. Not
// thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/build/build_session.h"
#include "engine/build/source_roots.h"
#include "engine/build/stage_state.h"
#include "engine/dockerfile/instructions.h"

namespace strata::engine::build {

// One line of the result's "steps".
struct StepRecord {
  int index = 0;  // the log's #n
  std::string stage;
  std::string instruction;
  std::chrono::milliseconds duration{0};
  std::optional<oci::Digest> layer;
  // Steps with a cache key: "hit-tenant", "hit-global" or "miss".
  std::optional<std::string> cache;
};

class StageExecutor {
 public:
  StageExecutor(BuildSession& session, const dockerfile::Dockerfile& dockerfile,
                const dockerfile::Variables& build_args, const dockerfile::Variables& global_args,
                const std::map<std::size_t, StageState>& finished, std::vector<StepRecord>& steps)
      : session_(session), dockerfile_(dockerfile), build_args_(build_args), global_args_(global_args),
        finished_(finished), steps_(steps) {}

  Result<StageState> run(std::size_t index);

 private:
  Result<StageState> run_stage(std::size_t index, bool use_cache);
  Result<StageState> start(std::size_t index, const std::string& name, int step);
  Result<StageState> from_image(const std::string& reference, const std::string& name, int step);
  // The step's cache outcome when it has a key.
  Result<std::optional<std::string>> execute(StageState& state, std::size_t index,
                                             const dockerfile::Instruction& instruction, int step);
  Result<std::optional<ImageLayer>> run_filesystem_step(StageState& state, SourceRoots& sources,
                                                        const dockerfile::Command& command, std::string& created_by,
                                                        int step);
  Result<std::optional<ImageLayer>> workdir_step(StageState& state);
  // Notes a keyed step for the cache export.
  void record(const StageState& state, const oci::Digest& key, std::string instruction,
              const std::string& created_by, const std::optional<ImageLayer>& layer, std::optional<CacheHit> hit);

  BuildSession& session_;
  const dockerfile::Dockerfile& dockerfile_;
  const dockerfile::Variables& build_args_;
  const dockerfile::Variables& global_args_;
  const std::map<std::size_t, StageState>& finished_;
  std::vector<StepRecord>& steps_;
};

}  // namespace strata::engine::build
