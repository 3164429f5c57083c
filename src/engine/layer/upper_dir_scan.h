// Reads an overlayfs upper directory into the ordered list of tar entries that
// make its OCI layer (see layer_writer.h for the rules): overlay whiteouts and
// opaque dirs already turned into `.wh.` marker entries, sockets dropped,
// entries sorted bytewise by tar path, and every later path of a shared inode
// turned into a hard link to the first. Times are as found; clamping to
// SOURCE_DATE_EPOCH is the writer's business.
//
// Contract: the upper dir must not change during the scan. Fails with
// LAYER_UNSUPPORTED for names starting with ".wh." and for overlay metacopy /
// redirect xattrs, IO on filesystem errors. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace strata::engine::layer {

struct LayerEntry {
  enum class Kind {
    regular,
    directory,
    symlink,
    hardlink,  // link_target is the tar path of the first entry of the inode
    character_device,
    block_device,
    fifo,
    whiteout,  // an empty marker file: `.wh.<name>` or `.wh..wh..opq`
  };

  Kind kind = Kind::regular;
  std::string tar_path;     // relative, no "./" prefix, no trailing '/'
  std::string source_path;  // absolute path in the upper dir; empty for whiteouts
  std::uint32_t mode = 0;   // permission bits incl. setuid/setgid/sticky
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;   // seconds
  std::uint64_t size = 0;   // regular files only
  std::uint32_t device_major = 0;
  std::uint32_t device_minor = 0;
  std::string link_target;                // symlink target or hard-link first path
  std::optional<std::string> capability;  // security.capability xattr value
};

Result<std::vector<LayerEntry>> scan_upper_dir(const std::filesystem::path& upper_dir);

}  // namespace strata::engine::layer
