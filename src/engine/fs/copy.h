// COPY and ADD done natively (no container): files from the build context or
// another stage's filesystem into a step's root filesystem (the merged
// overlay dir), with Dockerfile semantics:
//   - sources are paths or globs relative to the source root (`*`, `?`,
//     `[...]`, as filepath.Match); a source directory copies its contents;
//   - a destination ending in '/' (or several sources, or a glob) is a
//     directory; otherwise a single file source is copied to that name;
//     a relative destination is relative to the step's WORKDIR (the caller
//     passes it already joined: `dest` is always absolute in the image);
//   - missing parent directories are created (mode 0755, owned by the chown
//     owner if one is given, else root);
//   - modes, symlinks (not followed), hard links within the copied set,
//     setuid/setgid/sticky bits and mtimes are preserved; ownership is
//     --chown's, else 0:0 for the context (Docker's rule) and preserved
//     from another stage; --chmod overrides file and directory modes;
//   - the context is filtered by .dockerignore (Docker applies it when the
//     context is sent, so ignored files do not exist for COPY);
//   - ADD: a local source that is a tar archive (plain, gzip, bzip2, xz,
//     zstd) is extracted into the destination directory instead of copied;
//     an http(s) URL source is downloaded (file name from the URL path,
//     mode 0600, mtime from Last-Modified when present).
// Destination paths are resolved inside the root filesystem: symlinks in the
// image resolve as they would inside the container (never escape the root).
//
// Errors: COPY_SOURCE_MISSING ("COPY failed: file not found in build
// context: <pattern>"), COPY_INVALID (escaping sources like ../x), IO.
// Thread-safety: pure functions over the filesystem.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace strata::engine::dockerfile {
class IgnoreRules;
}

namespace strata::engine::fs {

struct Owner {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
};

struct InlineFile {  // a COPY <<EOF heredoc
  std::string name;
  std::string content;
};

struct CopySource {
  std::filesystem::path root;                          // context dir or a stage's rootfs
  bool is_context = false;                             // ownership defaults to 0:0, .dockerignore applies
  const dockerfile::IgnoreRules* ignore = nullptr;     // context only; may be null
  std::vector<std::string> patterns;                   // as written, after variable expansion
  std::vector<InlineFile> inline_files;                // heredoc sources (no patterns then)
};

struct CopyOptions {
  std::optional<Owner> chown;      // already resolved to numbers (see user.h)
  std::optional<std::uint32_t> chmod;
  bool add = false;                // ADD semantics: extract local archives, download URLs
  std::optional<std::int64_t> source_date_epoch;  // clamp mtimes of downloaded/inline files
};

// Copies into `rootfs` at absolute image path `dest`.
Result<void> copy_into(const std::filesystem::path& rootfs, const std::string& dest,
                       const CopySource& source, const CopyOptions& options);

}  // namespace strata::engine::fs
