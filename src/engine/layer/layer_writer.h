// Turns one build step's overlayfs upper directory into an OCI layer blob
// (image-spec layer.md): a deterministic tar, compressed, written to a file,
// with its digest, size and diff-id computed in the same streaming pass.
//
// What the tar holds, so that the same upper dir always gives the same bytes:
//  - every entry below the upper dir (not the dir itself), sorted bytewise by
//    tar path; PAX format (plain ustar headers unless a field needs more);
//  - uid, gid, mode (with setuid/setgid/sticky), mtime in whole seconds,
//    symlink targets, device numbers, fifos; no atime/ctime, empty uname and
//    gname; of the xattrs only security.capability (like BuildKit);
//  - non-directories that share an inode are written once, later paths as
//    hard-link entries to the first path;
//  - overlay whiteouts become OCI whiteouts: a 0:0 character device X becomes
//    an empty file `.wh.X`, and a directory whose trusted.overlay.opaque (or
//    user.overlay.opaque) is "y" is followed by `<dir>/.wh..wh..opq`. Both
//    markers have mode 0, owner 0:0 and mtime 0;
//  - sockets are skipped (tar cannot carry them; Docker skips them too).
// With source_date_epoch set, each mtime becomes min(mtime, epoch).
//
// Gzip output has no name and mtime 0 in its header and uses level 6; zstd
// uses level 3 with a content checksum; both are deterministic for a given
// zlib / libzstd.
//
// Contract: write_layer reads the upper dir, which must not change while it
// runs (the step's container has exited). The blob is written to
// "<blob_path>.partial" and renamed to blob_path on success; on failure
// nothing is left at either path. An upper dir with no entries is "empty":
// the result is std::nullopt and no file is written, so the caller records
// history without a layer. Fails with LAYER_UNSUPPORTED when the upper dir
// holds something an OCI layer cannot express faithfully (a name starting
// with ".wh.", overlay metacopy or redirect_dir xattrs: mount overlays with
// metacopy=off,redirect_dir=off), IO on filesystem errors, INTERNAL when
// libarchive or a compressor fails. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "common/error.h"
#include "engine/layer/layer_compression.h"
#include "oci/digest.h"

namespace strata::engine::layer {

struct LayerWriteOptions {
  LayerCompression compression = LayerCompression::gzip;
  // SOURCE_DATE_EPOCH in seconds: clamp every entry's mtime to it.
  std::optional<std::int64_t> source_date_epoch;
};

struct LayerInfo {
  oci::Digest digest;   // sha256 of the blob as written (compressed)
  oci::Digest diff_id;  // sha256 of the uncompressed tar (image config rootfs.diff_ids)
  std::uint64_t size = 0;        // blob size in bytes
  std::string_view media_type;   // application/vnd.oci.image.layer.v1.tar[+gzip|+zstd]
};

// Writes the layer for upper_dir to blob_path. std::nullopt: the dir is empty.
Result<std::optional<LayerInfo>> write_layer(const std::filesystem::path& upper_dir,
                                             const std::filesystem::path& blob_path,
                                             const LayerWriteOptions& options = {});

}  // namespace strata::engine::layer
