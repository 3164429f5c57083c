// The two deletion vocabularies a layer moves between: OCI whiteout names in
// tars (image-spec layer.md) and overlayfs' own markers in upper and lower
// dirs (a 0:0 character device, the "opaque" xattr). Constants only.
#pragma once

#include <string_view>

namespace strata::engine::layer {

// `.wh.<name>` in a tar deletes <name> from the layers below.
inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
// `<dir>/.wh..wh..opq` hides everything the layers below have in <dir>.
inline constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// overlayfs keeps its metadata in trusted.overlay.* as root and in
// user.overlay.* when mounted with userxattr.
inline constexpr std::string_view kOverlayXattrPrefixes[] = {"trusted.overlay.", "user.overlay."};
// What strata writes to mark an opaque dir in a lower it unpacks (as root).
inline constexpr std::string_view kOverlayOpaqueXattr = "trusted.overlay.opaque";

// The part of an xattr name after an overlay prefix ("opaque", "redirect",
// ...), or empty when the xattr is not overlayfs'.
constexpr std::string_view overlay_xattr_key(std::string_view name) {
  for (auto prefix : kOverlayXattrPrefixes)
    if (name.starts_with(prefix)) return name.substr(prefix.size());
  return {};
}

}  // namespace strata::engine::layer
