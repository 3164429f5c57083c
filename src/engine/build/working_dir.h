// Creating a stage's WORKDIR inside a step's root filesystem, as BuildKit
// does for WORKDIR (owned by the stage's USER) and before a RUN whose
// working directory the image lacks. Paths resolve as inside the container
// (fs::ImageRoot), so a symlinked parent never leads outside the root.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/error.h"
#include "engine/fs/copy.h"

namespace strata::engine::build {

// Creates absolute `path` (and missing parents, owned by `owner`) under
// `rootfs`. Returns whether anything was created.
Result<bool> create_working_dir(const std::filesystem::path& rootfs, std::string_view path, fs::Owner owner);

}  // namespace strata::engine::build
