// Resolving USER / --chown specifications against an image's own
// /etc/passwd and /etc/group (read inside the root filesystem, symlinks
// resolved within it), as Docker does:
//   "name", "uid", "name:group", "uid:gid", "name:gid", "uid:group".
// A bare user gets its primary group from /etc/passwd (0 if a numeric uid
// has no entry) and its supplementary groups from /etc/group; an explicit
// group replaces the primary one and leaves no supplementary groups.
// The first passwd entry matching by name or uid wins; ids above
// 2147483647 are refused, as Docker does.
// Errors: USER_UNKNOWN ("unable to find user <name>: no matching entries in
// passwd file"), GROUP_UNKNOWN ("unable to find group <name>: no matching
// entries in group file"), USER_INVALID (empty parts, more than one ':',
// ids out of range), IO.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "engine/fs/copy.h"

namespace strata::engine::fs {

struct ResolvedUser {
  Owner owner;
  std::vector<std::uint32_t> additional_gids;  // supplementary groups (USER only)
};

Result<ResolvedUser> resolve_user(const std::filesystem::path& rootfs, std::string_view spec);

}  // namespace strata::engine::fs
