// Where COPY --from and RUN --mount from= read files: the build context (no
// `from`), a finished stage of this build (by name or index), or any other
// image (pulled like a FROM). Stages and images are mounted for the one step
// that reads them and discarded with close().
//
// Contract: not thread-safe; one per stage executor. Errors: those of the
// image pull or the snapshotter.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string_view>

#include "common/error.h"
#include "engine/build/build_session.h"
#include "engine/build/stage_state.h"
#include "engine/dockerfile/instructions.h"

namespace strata::engine::build {

struct SourceRoot {
  std::filesystem::path root;
  bool is_context = false;
  std::optional<snapshot::Mount> mount;  // set for a stage or image
};

class SourceRoots {
 public:
  SourceRoots(BuildSession& session, const dockerfile::Dockerfile& dockerfile,
              const std::map<std::size_t, StageState>& finished, std::size_t current_stage)
      : session_(session), dockerfile_(dockerfile), finished_(finished), current_(current_stage) {}

  // `from` already expanded; empty for the context.
  Result<SourceRoot> open(std::string_view from, int step);
  void close(const SourceRoot& source);

 private:
  BuildSession& session_;
  const dockerfile::Dockerfile& dockerfile_;
  const std::map<std::size_t, StageState>& finished_;
  std::size_t current_;
};

}  // namespace strata::engine::build
