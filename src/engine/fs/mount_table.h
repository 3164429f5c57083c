// The mounts this process sees (/proc/self/mountinfo), for crash recovery:
// unmounting whatever a killed builder left under one of its directories.
// Thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"

namespace strata::engine::fs {

// Mount points strictly below `dir` (a canonical path), deepest first.
std::vector<std::string> mount_points_under(const std::filesystem::path& dir);

// Detaches every mount strictly below `dir`, deepest first; returns how many.
// MOUNT if the kernel refuses one.
Result<std::size_t> unmount_all_under(const std::filesystem::path& dir);

}  // namespace strata::engine::fs
