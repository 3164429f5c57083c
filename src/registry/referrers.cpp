// GET /v2/<name>/referrers/<digest>: the manifests in <name> whose `subject`
// is <digest>, as an OCI image index (distribution-spec v1.1, "Listing
// Referrers"). Each descriptor carries mediaType, digest, size, and
// artifactType and annotations when the manifest has them.
//
// The spec forbids 404 here (a 404 tells clients the API is missing and
// sends them to the tag-schema fallback), so an unknown subject or an
// unknown repository is an empty index. `?artifactType=` filters and is
// acknowledged with `OCI-Filters-Applied: artifactType`.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "oci/media_types.h"
#include "registry/errors.h"
#include "registry/handlers.h"
#include "registry/metadata_store.h"
#include "registry/registry.h"

namespace strata::registry {
namespace {

Result<nlohmann::json> descriptor_of(const Referrer& referrer) {
  nlohmann::json descriptor = {{"mediaType", referrer.media_type},
                               {"digest", referrer.digest.str()},
                               {"size", referrer.size}};
  if (!referrer.artifact_type.empty()) descriptor["artifactType"] = referrer.artifact_type;
  if (!referrer.annotations_json.empty()) {
    auto annotations = nlohmann::json::parse(referrer.annotations_json, nullptr, false);
    if (annotations.is_discarded())
      return fail("INTERNAL", "stored annotations are not JSON", referrer.digest.str());
    descriptor["annotations"] = std::move(annotations);
  }
  return descriptor;
}

}  // namespace

http::Response get_referrers(Registry& registry, http::Request& request) {
  const auto& name = request.param("name");
  auto subject = oci::Digest::parse(request.param("digest"));
  if (!subject) return error_response(subject.error());
  // An empty `artifactType=` filters nothing, so it is not reported as applied.
  std::optional<std::string> artifact_type = request.query_param("artifactType");
  if (artifact_type && artifact_type->empty()) artifact_type.reset();

  auto referrers = registry.metadata().referrers(name, *subject, artifact_type);
  if (!referrers) return error_response(referrers.error());

  auto manifests = nlohmann::json::array();
  for (const auto& referrer : *referrers) {
    auto descriptor = descriptor_of(referrer);
    if (!descriptor) return error_response(descriptor.error());
    manifests.push_back(std::move(*descriptor));
  }
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", oci::media_type::kOciIndex},
                          {"manifests", std::move(manifests)}};
  auto response =
      http::Response::text(200, index.dump(), std::string(oci::media_type::kOciIndex));
  if (artifact_type) response.headers.set("OCI-Filters-Applied", "artifactType");
  return response;
}

}  // namespace strata::registry
