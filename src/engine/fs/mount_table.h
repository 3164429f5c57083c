// The mounts this process sees (/proc/self/mountinfo): one parser for the
// builder's uses — crash recovery (unmounting whatever a killed builder left
// under one of its directories) and finding the cgroup hierarchies.
// Thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace strata::engine::fs {

struct MountEntry {
  std::string point;                 // octal escapes decoded
  std::string type;                  // "ext4", "cgroup2", ...
  std::vector<std::string> options;  // the superblock's options
};

// The entries of a mountinfo text (malformed lines are skipped).
std::vector<MountEntry> parse_mountinfo(std::string_view text);

// Mount points strictly below `dir` (a canonical path), deepest first.
std::vector<std::string> mount_points_under(const std::filesystem::path& dir);

// Detaches every mount strictly below `dir`, deepest first; returns how many.
// MOUNT if the kernel refuses one.
Result<std::size_t> unmount_all_under(const std::filesystem::path& dir);

}  // namespace strata::engine::fs
