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

// What a `from` names, for cache keys: the context, or the content identity
// of a stage (its cache key; nullopt when that stage is not cacheable) or of
// an image (its platform manifest digest).
struct SourceIdentity {
  bool is_context = false;
  std::optional<std::string> id;
};

class SourceRoots {
 public:
  SourceRoots(BuildSession& session, const dockerfile::Dockerfile& dockerfile,
              const std::map<std::size_t, StageState>& finished, std::size_t current_stage)
      : session_(session), dockerfile_(dockerfile), finished_(finished), current_(current_stage) {}

  // `from` already expanded; empty for the context.
  Result<SourceRoot> open(std::string_view from, int step);
  void close(const SourceRoot& source);
  Result<SourceIdentity> identity(std::string_view from, int step);

 private:
  BuildSession& session_;
  const dockerfile::Dockerfile& dockerfile_;
  const std::map<std::size_t, StageState>& finished_;
  std::size_t current_;
};

}  // namespace strata::engine::build
