// Media types of the OCI image spec and of Docker image manifest v2 schema 2
// that strata stores, serves and negotiates (Accept / Content-Type). Constants
// only; which of them are manifests is decided in oci/manifest.h.
#pragma once

#include <string_view>

namespace strata::oci::media_type {

// OCI image spec v1.1.
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
// The "{}" blob used as config or layer of artifacts that carry no content there.
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";

// Docker image manifest v2, schema 2.
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerTarGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerTarGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

// Docker schema 1 (deprecated, signed): recognised only to reject it clearly.
inline constexpr std::string_view kDockerSchema1Manifest =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1SignedManifest =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

}  // namespace strata::oci::media_type
