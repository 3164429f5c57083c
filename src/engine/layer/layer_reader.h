// Applies (unpacks) an OCI layer blob onto a directory, for the snapshotter
// and for tests that compare flattened filesystems. The compression (gzip,
// zstd or none) is detected from the blob's magic bytes; the uncompressed
// stream is hashed while it is unpacked, and the diff-id is checked against
// the expected one when given.
//
// Two ways to apply the layer's OCI whiteouts (image-spec layer.md):
//  - ApplyMode::overlay_lower: the target is a fresh per-layer dir that will
//    be stacked as an overlayfs lowerdir. `.wh.X` becomes a 0:0 character
//    device X, `D/.wh..wh..opq` sets trusted.overlay.opaque=y on D; nothing
//    is deleted.
//  - ApplyMode::flatten: the target already holds the lower layers. `.wh.X`
//    deletes X, `D/.wh..wh..opq` deletes everything in D that this layer did
//    not itself write (wherever the marker appears in the tar).
// Entries otherwise follow the spec's "changeset over existing files" rule:
// an existing directory meeting a directory entry keeps its contents and
// takes the entry's attributes; anything else is removed and recreated.
// Modes (with setuid/setgid/sticky), mtimes, symlinks, hard links, fifos and
// device nodes are reproduced; ownership only when running as root. Xattrs
// are applied except overlayfs' own (trusted.overlay.*, user.overlay.*), which
// a layer must not be able to forge. Parent directories a tar leaves out are
// created with mode 0755.
//
// Safety: absolute names, ".." components, and any lookup that would leave
// the target through a symlink (including hard-link targets) fail with
// LAYER_INVALID; nothing is ever written outside the target.
//
// Contract: on failure (LAYER_INVALID for a corrupt or unsafe blob,
// DIGEST_INVALID when the diff-id does not match, IO) the target has been
// partly written and the caller must discard it. Stateless and thread-safe,
// but two applies must not share a target at the same time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "common/error.h"
#include "engine/layer/layer_compression.h"
#include "oci/digest.h"

namespace strata::engine::layer {

enum class ApplyMode { overlay_lower, flatten };

struct ApplyOptions {
  ApplyMode mode = ApplyMode::overlay_lower;
  std::optional<oci::Digest> expected_diff_id;
};

struct AppliedLayer {
  oci::Digest diff_id;  // sha256 of the uncompressed tar, as read
  LayerCompression compression = LayerCompression::none;
  std::uint64_t uncompressed_size = 0;
};

Result<AppliedLayer> apply_layer(const std::filesystem::path& blob,
                                 const std::filesystem::path& target_dir,
                                 const ApplyOptions& options = {});

}  // namespace strata::engine::layer
