// Directories in a step's upper dir that record no change: overlayfs copies a
// directory up when anything is created in it, and a mount point made and
// removed again (runc's stub for /etc/hosts, a secret's /run/secrets) leaves
// the copy behind, empty and with the lower dir's metadata (mount_stubs.h
// restores its times). Such a copy would put a directory entry into the
// layer that the step never changed, and change its digest. BuildKit's
// differ leaves them out too.
//
// Contract: call on an upper dir that is not mounted. Removes, deepest
// first, every directory of `upper` that is empty, not opaque, and has the
// same type, mode, owner and modification time as the same path in the
// top-most of `lowers` (lowest first) that holds it. Never touches anything
// else. Errors: IO.
#pragma once

#include <filesystem>
#include <vector>

#include "common/error.h"

namespace strata::engine::snapshot {

Result<void> remove_unchanged_dirs(const std::filesystem::path& upper, const std::vector<std::filesystem::path>& lowers);

}  // namespace strata::engine::snapshot
