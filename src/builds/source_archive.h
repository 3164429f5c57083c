// A build's source: the context archive a client uploads with POST /builds,
// checked and unpacked into a fresh directory before anything runs, and the
// Dockerfile found inside it.
//
// The archive is a tar, plain or compressed with gzip or zstd, recognised by
// its bytes (never its name). Extraction refuses, naming the entry: absolute
// names, ".." components, symlinks that are absolute or whose target,
// resolved lexically from the link's directory, leaves the context, hard
// links to anything but a regular file extracted earlier, devices, fifos and
// sockets, entries under a non-directory, a name given twice (directories
// excepted), names over the length limits, more entries than allowed and more
// content than allowed. Sizes are counted as the content streams, so an
// archive that expands far beyond its size (a gzip bomb) is stopped at the
// limit, not after filling the disk. Like `docker build` contexts, files
// belong to the extracting user whatever the archive says; modes are kept
// except setuid/setgid, and directories always get owner rwx so the service
// can remove the tree. Extended attributes and ACLs are not restored.
//
// Contract: stateless and thread-safe (no chdir; every path is absolute).
// Errors: SOURCE_INVALID (unsafe or corrupt archive; the message names the
// entry), TOO_LARGE (entry count or content size over the limit), NO_SPACE
// (the destination filesystem is full), IO (the archive cannot be read or the
// destination written). On any error the
// destination directory is removed: nothing partial is left behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"
#include "oci/digest.h"

namespace strata::builds {

struct SourceLimits {
  std::uint64_t max_entries = 100'000;
  std::uint64_t max_content_bytes = std::uint64_t{1} << 30;  // all files, uncompressed
  std::size_t max_path_bytes = 4096;                         // a whole entry name
  std::size_t max_name_bytes = 255;                          // one component of it
};

struct ExtractedSource {
  oci::Digest digest;              // sha256 of the archive file as uploaded (provenance)
  std::uint64_t archive_bytes = 0;  // size of that file
  std::uint64_t entries = 0;
  std::uint64_t content_bytes = 0;  // uncompressed size of all files
};

// Checks and unpacks the archive file `archive` into `destination`, which
// must not exist yet (its parent must) and is created by this call.
Result<ExtractedSource> extract_source_archive(const std::filesystem::path& archive,
                                               const std::filesystem::path& destination,
                                               const SourceLimits& limits = {});

constexpr std::size_t kMaxDockerfileBytes = 1 << 20;

// The text of the Dockerfile at `dockerfile_path` (relative to the context;
// empty means "Dockerfile"). Symlinks are followed only while they stay inside
// the context. SOURCE_INVALID when the path is absolute, climbs out of the
// context, or names no regular file; TOO_LARGE over `max_bytes`.
Result<std::string> find_dockerfile(const std::filesystem::path& context_dir,
                                    std::string_view dockerfile_path,
                                    std::size_t max_bytes = kMaxDockerfileBytes);

}  // namespace strata::builds
