// A build stage as its steps run: the image config so far, the layers of its
// root filesystem and the ARG values in scope. A finished stage is what
// FROM <stage>, COPY --from=<stage> and RUN --mount from=<stage> see.
#pragma once

#include <string>
#include <vector>

#include "engine/build/image_layer.h"
#include "engine/dockerfile/shell_lex.h"
#include "engine/image/image_config.h"
#include "engine/image/metadata.h"

namespace strata::engine::build {

struct StageState {
  std::string name;  // for logs: the AS name, or "stage-<index>"
  image::ImageConfig image;
  image::StageMetadata metadata;
  std::vector<ImageLayer> layers;  // lowest first
  dockerfile::Variables args;      // ARGs declared in this stage

  // What $VAR means in this stage's instructions: its ARGs, overridden by
  // the config's environment (ENV wins, as in Docker).
  dockerfile::Variables expansion_vars() const;
  // The environment of a RUN: the config's Env plus the ARGs it does not set.
  std::vector<std::string> run_env() const;
};

}  // namespace strata::engine::build
