// A build stage as its steps run: the image config so far, the layers of its
// root filesystem and the ARG values in scope. A finished stage is what
// FROM <stage>, COPY --from=<stage> and RUN --mount from=<stage> see.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/build/image_layer.h"
#include "engine/dockerfile/shell_lex.h"
#include "engine/image/image_config.h"
#include "engine/image/metadata.h"
#include "oci/digest.h"

namespace strata::engine::build {

struct StageState {
  std::string name;  // for logs: the AS name, or "stage-<index>"
  image::ImageConfig image;
  image::StageMetadata metadata;
  std::vector<ImageLayer> layers;  // lowest first
  dockerfile::Variables args;      // ARGs declared in this stage
  // The build cache's key chain so far (engine/cache/step_key.h); nullopt
  // once a step could not be keyed (ADD from a URL): nothing after it is
  // looked up or exported.
  std::optional<oci::Digest> cache_key;
  // False after the stage's first cache miss: every later step runs.
  bool cache_lookups = true;

  // What $VAR means in this stage's instructions: its ARGs, overridden by
  // the config's environment (ENV wins, as in Docker).
  dockerfile::Variables expansion_vars() const;
  // The environment of a RUN: the config's Env plus the ARGs it does not set.
  std::vector<std::string> run_env() const;
};

}  // namespace strata::engine::build
