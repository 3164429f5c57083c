// Registry construction, request validation and the base endpoint.
#include "registry/registry.h"

#include <algorithm>

#include "oci/digest.h"
#include "oci/name.h"
#include "registry/blob_store.h"
#include "registry/errors.h"
#include "registry/handlers.h"
#include "registry/metadata_store.h"
#include "registry/upload_store.h"

namespace strata::registry {

Result<std::unique_ptr<Registry>> Registry::open(const std::filesystem::path& data_dir) {
  auto blobs = BlobStore::open(data_dir);
  if (!blobs) return std::unexpected(blobs.error());
  auto metadata = MetadataStore::open(data_dir);
  if (!metadata) return std::unexpected(metadata.error());
  std::unique_ptr<Registry> registry(new Registry());
  registry->blobs_ = std::make_unique<BlobStore>(std::move(*blobs));
  registry->metadata_ = std::move(*metadata);
  auto uploads = UploadStore::open(data_dir, *registry->blobs_, *registry->metadata_);
  if (!uploads) return std::unexpected(uploads.error());
  registry->uploads_ = std::move(*uploads);
  return registry;
}

Registry::~Registry() = default;

namespace {

bool is_upload_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::ranges::all_of(id, [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-';
  });
}

}  // namespace

http::Guard Registry::validation_guard() {
  return [](http::Request& request, const http::Route&) -> std::optional<http::Response> {
    const auto& params = request.params;
    if (auto it = params.find("name"); it != params.end())
      if (auto ok = oci::validate_repository_name(it->second); !ok) return error_response(ok.error());
    if (auto it = params.find("digest"); it != params.end())
      if (auto ok = oci::Digest::parse(it->second); !ok) return error_response(ok.error());
    if (auto it = params.find("reference"); it != params.end())
      if (auto ok = oci::Reference::parse(it->second); !ok) return error_response(ok.error());
    if (auto it = params.find("uuid"); it != params.end() && !is_upload_id(it->second))
      return error_response("BLOB_UPLOAD_UNKNOWN", "upload session not found");
    return std::nullopt;
  };
}

http::Response get_base(Registry&, http::Request&) { return http::Response::json(200, "{}"); }

}  // namespace strata::registry
