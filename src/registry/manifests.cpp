// /v2/<name>/manifests/<reference>: GET/HEAD, PUT and DELETE of image
// manifests and indexes (OCI and Docker schema 2), by tag or digest.
//
// Content negotiation (the spec leaves it to registries):
//   - The stored bytes are served as they were pushed, labelled with their
//     own media type; strata never converts a manifest.
//   - A media range acceptable to the client is any listed type, `type/*`
//     or `*/*`, over all Accept headers and comma lists; q-values are
//     ignored. No Accept header (or an empty one) accepts everything.
//   - By tag, a stored type the client did not list is 404 MANIFEST_UNKNOWN
//     saying which type was found, as CNCF Distribution answers: the client
//     asked for "this tag in a format I can read" and there is none.
//   - By digest, the stored manifest is served whatever the Accept: a digest
//     names exactly these bytes, there is no other representation to
//     negotiate, and answering 404 would falsely claim it does not exist.
//
// PUT verifies (oci::parse_manifest), stores the bytes in BlobStore, then
// records the manifest in MetadataStore, which rejects references to blobs
// or child manifests not in the repository (MANIFEST_BLOB_UNKNOWN). Manifests
// over oci::kMaxManifestBytes are refused with 413 before being parsed.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "oci/name.h"
#include "registry/blob_store.h"
#include "registry/errors.h"
#include "registry/handlers.h"
#include "registry/metadata_store.h"
#include "registry/registry.h"

namespace strata::registry {
namespace {



// Whether one Accept media range (parameters already stripped) admits `type`.
bool range_admits(std::string_view range, std::string_view type) {
  if (range == "*/*") return true;
  if (range.ends_with("/*")) {
    auto prefix = range.substr(0, range.size() - 1);  // "application/"
    return type.size() > prefix.size() && iequals(type.substr(0, prefix.size()), prefix);
  }
  return iequals(range, type);
}

bool accepts(const http::Request& request, std::string_view media_type) {
  bool any_range = false;
  for (auto header : request.headers.get_all("Accept")) {
    while (!header.empty()) {
      auto comma = header.find(',');
      auto item = header.substr(0, comma);
      header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
      auto range = trim(item.substr(0, item.find(';')));
      if (range.empty()) continue;
      any_range = true;
      if (range_admits(range, media_type)) return true;
    }
  }
  return !any_range;
}

// What the client was refused, in its terms ("OCI index", "Docker manifest").
std::string describe(std::string_view media_type) {
  using namespace oci::media_type;
  if (media_type == kOciManifest) return "OCI manifest";
  if (media_type == kOciIndex) return "OCI index";
  if (media_type == kDockerManifest) return "Docker schema 2 manifest";
  if (media_type == kDockerManifestList) return "Docker manifest list";
  return "manifest";
}

oci::Reference reference_of(const http::Request& request) {
  // The validation guard has already accepted this parameter.
  return *oci::Reference::parse(request.param("reference"));
}

Result<ManifestInfo> find_manifest(Registry& registry, const std::string& repo,
                                   const oci::Reference& reference) {
  if (reference.is_tag()) return registry.metadata().get_tagged_manifest(repo, reference.tag());
  return registry.metadata().get_manifest(repo, reference.digest());
}

// Layers that clients fetch from their own URLs (Windows base layers) are
// never pushed, so a manifest must not be refused for lacking them — the
// same exemption CNCF Distribution makes.
bool is_external_layer(std::string_view media_type) {
  return media_type == oci::media_type::kDockerForeignLayerTarGzip ||
         media_type.starts_with("application/vnd.oci.image.layer.nondistributable.");
}

ManifestRecord record_of(const oci::ParsedManifest& manifest, const oci::Digest& digest,
                         std::size_t size) {
  ManifestRecord record{
      .digest = digest,
      .media_type = manifest.media_type,
      .size = size,
      .artifact_type = manifest.artifact_type.value_or(""),
      .subject = manifest.subject ? std::optional(manifest.subject->digest) : std::nullopt,
      .annotations_json =
          manifest.annotations.empty() ? "" : nlohmann::json(manifest.annotations).dump(),
      .blobs = {},
      .manifests = {},
  };
  if (manifest.config) record.blobs.push_back(manifest.config->digest);
  for (const auto& layer : manifest.layers)
    if (!is_external_layer(layer.media_type)) record.blobs.push_back(layer.digest);
  for (const auto& child : manifest.manifests) record.manifests.push_back(child.digest);
  return record;
}

// The digest a pushed manifest is stored under: the reference's own when the
// client pushed by digest (so sha512 references work), else sha256.
Result<oci::Digest> digest_for_put(const oci::Reference& reference, std::string_view bytes) {
  if (reference.is_tag()) return oci::Digest::of(oci::DigestAlgorithm::sha256, bytes);
  auto actual = oci::Digest::of(reference.digest().algorithm(), bytes);
  if (actual != reference.digest())
    return fail("DIGEST_INVALID", "manifest content does not match the digest in the URL",
                "content digest is " + actual.str());
  return actual;
}

}  // namespace

http::Response get_manifest(Registry& registry, http::Request& request) {
  const auto& repo = request.param("name");
  auto reference = reference_of(request);
  auto info = find_manifest(registry, repo, reference);
  if (!info) return error_response(info.error());

  if (reference.is_tag() && !accepts(request, info->media_type))
    return error_response("MANIFEST_UNKNOWN",
                          describe(info->media_type) + " found (" + info->media_type +
                              "), but the Accept header does not allow it");

  http::Response response;
  response.headers.set("Content-Type", info->media_type);
  response.headers.set("Docker-Content-Digest", info->digest.str());
  if (request.method == "HEAD") {
    // The server keeps a handler's Content-Length on a bodiless HEAD answer.
    response.headers.set("Content-Length", std::to_string(info->size));
    return response;
  }
  auto file = registry.blobs().open_blob(info->digest);
  if (!file) {
    // Deleted between the lookup and the open: it is gone now.
    if (file.error().code == "BLOB_UNKNOWN")
      return error_response("MANIFEST_UNKNOWN", "manifest unknown to repository");
    return error_response(file.error());
  }
  auto size = file->size();
  response.body = http::open_file_body(file->release(), 0, size);
  return response;
}

http::Response put_manifest(Registry& registry, http::Request& request) {
  const auto& repo = request.param("name");
  auto reference = reference_of(request);

  auto bytes = http::read_all(*request.body, oci::kMaxManifestBytes);
  if (!bytes) {
    if (bytes.error().code == "TOO_LARGE")
      return error_response(Error{"MANIFEST_INVALID", "manifest is larger than the 4 MiB limit",
                                  "limit is " + std::to_string(oci::kMaxManifestBytes) + " bytes"},
                            413);
    return error_response(bytes.error());
  }
  auto manifest =
      oci::parse_manifest(request.headers.get("Content-Type").value_or(""), *bytes);
  if (!manifest) return error_response(manifest.error());
  auto digest = digest_for_put(reference, *bytes);
  if (!digest) return error_response(digest.error());

  if (auto stored = registry.blobs().put(*bytes, *digest); !stored)
    return error_response(stored.error());
  std::optional<std::string_view> tag;
  if (reference.is_tag()) tag = reference.tag();
  if (auto recorded =
          registry.metadata().put_manifest(repo, record_of(*manifest, *digest, bytes->size()), tag);
      !recorded)
    return error_response(recorded.error());

  auto response = http::Response::empty(201);
  response.headers.set("Location", "/v2/" + repo + "/manifests/" + digest->str());
  response.headers.set("Docker-Content-Digest", digest->str());
  if (manifest->subject) response.headers.set("OCI-Subject", manifest->subject->digest.str());
  return response;
}

http::Response delete_manifest(Registry& registry, http::Request& request) {
  const auto& repo = request.param("name");
  auto reference = reference_of(request);
  // By digest the manifest goes with every tag on it; by tag only the tag
  // goes. Blobs stay until gc finds them unreferenced.
  if (reference.is_tag()) {
    if (auto deleted = registry.metadata().delete_tag(repo, reference.tag()); !deleted)
      return error_response(deleted.error());
  } else if (auto deleted = registry.metadata().delete_manifest(repo, reference.digest());
             !deleted) {
    return error_response(deleted.error());
  }
  return http::Response::empty(202);
}

}  // namespace strata::registry
