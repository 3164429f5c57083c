// Files that hold secrets (signing keys, the bootstrap operator key): created
// with mode 0600 and published atomically (write to a temporary file, fsync,
// then link or rename), so a crash never leaves a half-written key and a key
// is never readable by other users, even briefly. Reading refuses files that
// group or others may read, as ssh does, because such a key may already be
// compromised. Failures are Error{"IO", ...}.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace strata::auth {

enum class IfExists { keep, replace };

// Writes `content` to `path`. With IfExists::keep an existing file is left
// untouched and the result is false; otherwise the result is true.
Result<bool> write_private_file(const std::filesystem::path& path, std::string_view content,
                                IfExists if_exists);
Result<std::string> read_private_file(const std::filesystem::path& path);

}  // namespace strata::auth
