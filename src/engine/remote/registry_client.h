// A client of one OCI distribution registry (strata, Distribution, Docker Hub,
// any other), speaking the plain HTTP API the spec defines: what the builder
// uses to pull base images and what the build cache uses to look up, mount and
// push its entries.
//
// Authentication follows Docker's token flow: a request is sent with what is
// known to work; on 401 `Bearer realm=...,service=...,scope=...` a token is
// fetched from the realm (with Basic credentials if configured), cached per
// scope until it expires, and the request is retried once; on 401 `Basic` the
// Basic credentials are sent. A fixed Bearer token is always sent as is (and
// as the Basic password when a registry asks for Basic, which strata accepts).
//
// Errors carry the registry's error code from its JSON error body
// ("MANIFEST_UNKNOWN", "DENIED", "UNAUTHORIZED", ...) and the method, URL and
// HTTP status in the message; without a body the code follows the status
// (401 UNAUTHORIZED, 403 DENIED, 404 <resource>_UNKNOWN, 429 TOOMANYREQUESTS,
// 5xx UNAVAILABLE). Transport failures keep http::Client's codes.
//
// Not thread-safe (it owns a connection and a token cache): one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "engine/remote/platform.h"
#include "engine/remote/registry_config.h"
#include "http/client.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/name.h"

namespace strata::engine::remote {

// A manifest as stored in a registry.
struct ManifestInfo {
  oci::Digest digest;
  std::string media_type;
  std::int64_t size = 0;
};

struct FetchedManifest {
  ManifestInfo info;
  std::string bytes;
};

// A reference resolved to one platform's image manifest.
struct ResolvedImage {
  oci::Digest digest;  // of the platform-specific image manifest
  std::string media_type;
  std::string bytes;  // the manifest exactly as served (its digest is `digest`)
  oci::ParsedManifest manifest;
  std::optional<oci::Digest> index_digest;  // when the reference named an index
};

class RegistryClient {
 public:
  explicit RegistryClient(RegistryEndpoint endpoint, http::ClientOptions options = {});
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // Resolves a tag or digest to the image manifest for `platform`, choosing
  // from an OCI index or Docker manifest list. Matching normalises
  // architecture aliases and default variants (arm64 = arm64/v8, arm = arm/v7).
  // MANIFEST_UNKNOWN when no entry matches the platform.
  Result<ResolvedImage> resolve(std::string_view repository, const oci::Reference& reference,
                                const oci::Platform& platform = host_platform());

  // GET of any manifest type (image, index; OCI or Docker), digest-checked when
  // the reference is a digest.
  Result<FetchedManifest> get_manifest(std::string_view repository, const oci::Reference& reference);
  // HEAD with the given Accept types (all manifest types when empty); nullopt
  // when the registry has no such manifest.
  Result<std::optional<ManifestInfo>> head_manifest(std::string_view repository,
                                                    const oci::Reference& reference,
                                                    const std::vector<std::string>& accept = {});
  // PUT; returns the manifest's digest. A digest reference must match `bytes`.
  Result<oci::Digest> push_manifest(std::string_view repository, const oci::Reference& reference,
                                    std::string_view media_type, std::string_view bytes);

  // Streams the blob to `sink` (following redirects to storage), hashing as it
  // goes; returns its size. DIGEST_INVALID when the content does not match
  // `digest` — the sink has then seen bad bytes and its output must be dropped.
  Result<std::uint64_t> fetch_blob(std::string_view repository, const oci::Digest& digest,
                                   const http::BodySink& sink);
  Result<bool> blob_exists(std::string_view repository, const oci::Digest& digest);
  // Cross-repository mount. False when the registry did not mount (it opened
  // an upload session instead, which is cancelled): the caller uploads.
  Result<bool> mount_blob(std::string_view to_repository, const oci::Digest& digest,
                          std::string_view from_repository);
  // Uploads `size` bytes read from `source` in one PUT, unless the blob is
  // already there. The source is read at most once.
  Result<void> push_blob(std::string_view repository, const oci::Digest& digest, std::uint64_t size,
                         const http::BodySource& source);

  // All tags, following Link pagination.
  Result<std::vector<std::string>> list_tags(std::string_view repository);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::engine::remote
