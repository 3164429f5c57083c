// ADD's local archives: recognising a tar by its content (plain, or
// compressed with gzip, bzip2, xz or zstd — Docker looks at the bytes, never
// the file name; anything else, a bare .gz included, is copied as a file) and
// extracting it into a directory of the image.
//
// Extraction keeps the archive's modes, times, symlinks, hard links, devices
// and xattrs; owners come from the archive unless --chown gives one. Entry
// names are cleaned relative to the destination ("/a" and "./a" are "a"); a
// name or hard link climbing above it with ".." is COPY_INVALID. Whiteout
// names have no meaning here and are extracted as they are, as Docker does.
//
// Contract: reads the descriptor from its start; stateless. Errors:
// COPY_INVALID (corrupt or unsafe archive), IO, and the writer's errors.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "engine/fs/copy.h"
#include "engine/fs/node_writer.h"

namespace strata::engine::fs {

Result<bool> is_tar_archive(int fd);

// Extracts the archive open at `fd` (shown to users as `name`) into the
// directory `dest_rel`, which must exist.
Result<void> unpack_archive(int fd, std::string_view name, NodeWriter& writer,
                            const std::string& dest_rel, const std::optional<Owner>& chown);

}  // namespace strata::engine::fs
