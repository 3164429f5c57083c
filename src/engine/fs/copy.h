// COPY and ADD done natively (no container): files from the build context or
// another stage's filesystem into a step's root filesystem (the merged
// overlay dir), with Dockerfile (BuildKit) semantics:
//   - sources are paths or globs relative to the source root (`*`, `?`,
//     `[...]`, as filepath.Match); a relative source climbing out with ".."
//     is COPY_INVALID; a source directory copies its contents;
//   - a destination ending in '/' or "/." is a directory (the caller keeps
//     the trailing '/' when joining with WORKDIR: `COPY a .` -> "/app/.");
//     several sources, listed or matched by one glob, require one
//     (COPY_INVALID otherwise, as Docker). A single non-directory source
//     goes inside the destination when it ends in '/' or already is a
//     directory, else it is written under the destination's name. `dest` is
//     always absolute in the image (relative ones are joined by the caller);
//   - missing parent directories are created (mode 0755, owned by the chown
//     owner if one is given, else root); a destination directory created for
//     a directory source without a trailing '/' takes that directory's
//     attributes, an existing one keeps its own;
//   - modes, symlinks below a copied directory (copied as symlinks, never
//     followed), hard links within the copied set, setuid/setgid/sticky
//     bits, xattrs and mtimes are preserved; a symlink named as a source
//     (directly or matched by a glob) is followed inside the source root, as
//     BuildKit does; ownership is --chown's, else 0:0 for the context
//     (Docker's rule) and preserved from another stage; --chmod overrides
//     file and directory modes;
//   - the context is filtered by .dockerignore (Docker applies it when the
//     context is sent, so ignored files do not exist for COPY, also not via
//     globs or directories; `!` exceptions re-include);
//   - ADD: a local source that is a tar archive by content (plain, gzip,
//     bzip2, xz, zstd) is extracted into the destination directory instead
//     of copied (owners from the archive unless --chown; --chmod does not
//     apply); an http(s) URL source is downloaded (file name from the URL
//     path, mode 0600, mtime from Last-Modified when present);
//   - heredoc files are written with mode 0644 (or --chmod), mtime now.
//     source_date_epoch clamps the mtimes of downloaded and heredoc files.
// Destination paths are resolved inside the root filesystem: symlinks in the
// image resolve as they would inside the container (never escape the root;
// a directory copy enters a symlink to a directory, e.g. merged /lib).
//
// Every source is resolved and every URL fetched before the first write, so
// a missing source leaves the rootfs untouched; a failure after that leaves
// it partly written and the step must be discarded.
// Errors: COPY_SOURCE_MISSING ("COPY failed: file not found in build
// context or excluded by .dockerignore: <pattern>", or "... in source
// filesystem: <pattern>" for a stage), COPY_INVALID (escaping sources,
// several sources to a non-directory, a URL in COPY, a corrupt or escaping
// archive, a directory over a non-directory), COPY_DOWNLOAD_FAILED (non-2xx
// answer to an ADD URL), the HTTP client's CONNECTION/TIMEOUT/TLS, IO.
// Thread-safety: pure functions over the filesystem.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "http/client.h"

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
  // ADD may fetch URLs (from the builder host) only when the build may reach
  // the network; an isolated build gets COPY_INVALID instead of a fetch.
  bool allow_network = true;
  // Where ADD's fetches may connect, checked on each resolved address
  // (the build's egress address policy); unset: anywhere.
  http::ConnectCheck url_connect_check;
  std::optional<std::int64_t> source_date_epoch;  // clamp mtimes of downloaded/inline files
};

// Copies into `rootfs` at absolute image path `dest`.
Result<void> copy_into(const std::filesystem::path& rootfs, const std::string& dest,
                       const CopySource& source, const CopyOptions& options);

}  // namespace strata::engine::fs
