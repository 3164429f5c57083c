// Which files one COPY/ADD source pattern names, before anything is written:
// the pattern is cleaned (a relative pattern climbing above the root with
// ".." is COPY_INVALID, an absolute one is clamped at the root, as
// filepath.Clean("/"+p)), each segment holding '*', '?', '[' or '\' is
// matched with filepath.Match rules against the directory's names, and each
// match that is a symlink is followed inside the source root (as BuildKit
// follows a source given directly). Below a matched directory nothing is
// followed: symlinks there are copied as symlinks.
//
// With ignore rules (the build context), .dockerignore'd paths do not exist:
// they are checked against the real path relative to the context, an
// excluded directory is only entered when an exception may re-include
// something below it, and it is kept only when something was.
//
// Errors: COPY_INVALID for escaping patterns, COPY_SOURCE_MISSING when
// nothing (left) matches, IO. Stateless.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "engine/fs/image_root.h"

namespace strata::engine::dockerfile {
class IgnoreRules;
}

namespace strata::engine::fs {

struct SourceEntry {
  std::string rel;  // below the matched item, "" for the item itself
  struct stat st;   // lstat of the entry (the item itself is never a symlink)
};

struct SelectedSource {
  std::string name;                  // base name of the match as written
  std::string real;                  // the item's path relative to the source root
  std::vector<SourceEntry> entries;  // the item first, then its tree in sorted pre-order
};

Result<std::vector<SelectedSource>> select_sources(const ImageRoot& root, std::string_view pattern,
                                                   bool is_context,
                                                   const dockerfile::IgnoreRules* ignore);

}  // namespace strata::engine::fs
