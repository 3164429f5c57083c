// Validation and parsing of pushed manifests: OCI image manifest and index,
// Docker schema 2 manifest and manifest list. Docker schema 1 is refused.
//
// parse_manifest() is the single check a manifest PUT goes through: it
// resolves the media type, checks the JSON against the spec (schemaVersion 2,
// required fields and their types, valid digests, non-negative sizes) and
// returns the descriptors the registry must find in the repository. It never
// throws. Failures:
//   MANIFEST_TOO_LARGE  body larger than kMaxManifestBytes (HTTP 413)
//   MANIFEST_INVALID    anything else, with a message naming the field
// Pure and thread-safe; the JSON library stays inside manifest.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "oci/digest.h"

namespace strata::oci {

// Same limit as CNCF Distribution and the OCI distribution spec's guidance.
inline constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;

enum class ManifestKind { image, index };

// Image manifest or index media type -> its kind; nullopt for anything else
// (including Docker schema 1).
std::optional<ManifestKind> manifest_kind(std::string_view media_type);

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;  // empty when absent
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  std::int64_t size = 0;
  std::optional<std::string> artifact_type;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

struct ParsedManifest {
  std::string media_type;  // resolved: the mediaType field, else Content-Type
  ManifestKind kind = ManifestKind::image;
  std::optional<Descriptor> config;   // set for images
  std::vector<Descriptor> layers;     // images
  std::vector<Descriptor> manifests;  // indexes: the child manifests
  std::optional<Descriptor> subject;
  // Images: the artifactType field, else config.mediaType (as the referrers
  // API reports it). Indexes: the artifactType field, if any.
  std::optional<std::string> artifact_type;
  std::map<std::string, std::string> annotations;
};

// `content_type` is the request's Content-Type (parameters such as
// "; charset=utf-8" are ignored; empty when absent). When the manifest has a
// mediaType field and a Content-Type is given, the two must agree.
Result<ParsedManifest> parse_manifest(std::string_view content_type, std::string_view bytes);

}  // namespace strata::oci
