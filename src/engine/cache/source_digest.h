// The content digest of a COPY/ADD source or a bind-mount source, for cache
// keys: what the step would read, selected exactly as the copy selects it
// (fs::select_sources: patterns, followed symlinks, .dockerignore for the
// context), hashed as a sorted list of entries: the match's name and path,
// then each entry's relative path, file type and permission bits, uid, gid
// and, by type, the content's SHA-256 (regular files), the link target
// (symlinks) or the device number. Modification times are left out, as in
// BuildKit's content checksums: touching a file does not invalidate the cache.
//
// Errors: those of select_sources (COPY_SOURCE_MISSING when a pattern
// matches nothing, COPY_INVALID), IO when a file cannot be read. Stateless.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/error.h"
#include "oci/digest.h"

namespace strata::engine::dockerfile {
class IgnoreRules;
}

namespace strata::engine::cache {

// `pattern` as written in the instruction (after expansion); `ignore` only
// for the build context.
Result<oci::Digest> source_digest(const std::filesystem::path& root, std::string_view pattern, bool is_context,
                                  const dockerfile::IgnoreRules* ignore);

}  // namespace strata::engine::cache
