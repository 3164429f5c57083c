// Moving blobs between a registry and local files: downloads of base layers
// (for unpacking, or to copy them to another registry), uploads of the layer
// blobs a build wrote and of small in-memory blobs (configs), and copies
// between registries through a scratch file.
//
// Contract: download_blob leaves no file behind on failure (a digest
// mismatch included). Not thread-safe beyond the client's own rules.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "common/error.h"
#include "engine/remote/registry_client.h"
#include "oci/digest.h"

namespace strata::engine::build {

Result<void> download_blob(remote::RegistryClient& client, std::string_view repository, const oci::Digest& digest,
                           const std::filesystem::path& path);

Result<void> upload_blob_file(remote::RegistryClient& client, std::string_view repository, const oci::Digest& digest,
                              std::uint64_t size, const std::filesystem::path& path);

Result<void> upload_blob_bytes(remote::RegistryClient& client, std::string_view repository, const oci::Digest& digest,
                               std::string_view bytes);

// Copies a blob from one registry to another through `scratch_file`, which
// is removed afterwards whatever happens.
Result<void> copy_blob(remote::RegistryClient& from, std::string_view from_repository, remote::RegistryClient& to,
                       std::string_view to_repository, const oci::Digest& digest, std::uint64_t size,
                       const std::filesystem::path& scratch_file);

}  // namespace strata::engine::build
