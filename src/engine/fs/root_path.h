// Lexical cleaning of paths that must stay inside a root (COPY sources, ADD
// archive entries, COPY destinations), as Go's filepath.Clean would on them:
// empty and "." segments and duplicate '/' are dropped and ".." removes the
// segment before it. An absolute path is clamped at the root ("/../a" is
// "a"); a relative one that climbs above its root has no clean form.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strata::engine::fs {

// The cleaned path relative to the root ("" for the root itself), or
// std::nullopt for a relative path that leaves it.
std::optional<std::string> clean_in_root(std::string_view path);

}  // namespace strata::engine::fs
