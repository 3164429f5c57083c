// Blob handlers: GET/HEAD (with Range) and DELETE of /v2/<name>/blobs/<digest>.
// A blob is served through a repository only when it is linked to it.
#include "http/range.h"
#include "oci/digest.h"
#include "registry/blob_store.h"
#include "registry/errors.h"
#include "registry/handlers.h"
#include "registry/metadata_store.h"
#include "registry/registry.h"

namespace strata::registry {

http::Response get_blob(Registry& registry, http::Request& request) {
  const auto& repo = request.param("name");
  auto digest = oci::Digest::parse(request.param("digest")).value();
  auto linked = registry.metadata().is_blob_linked(repo, digest);
  if (!linked) return error_response(linked.error());
  if (!*linked) return error_response("BLOB_UNKNOWN", "blob unknown to registry");
  auto file = registry.blobs().open_blob(digest);
  if (!file) return error_response(file.error());

  http::Response response;
  response.headers.set("Content-Type", "application/octet-stream");
  response.headers.set("Docker-Content-Digest", digest.str());
  response.headers.set("Accept-Ranges", "bytes");
  response.headers.set("ETag", "\"" + digest.str() + "\"");
  response.headers.set("Cache-Control", "max-age=31536000");
  const auto size = file->size();
  http::ByteRange range{0, size == 0 ? 0 : size - 1};
  if (auto header = request.headers.get("Range")) {
    auto resolved = http::resolve_range_header(*header, size);
    if (!resolved) {
      auto refused = error_response("SIZE_INVALID", resolved.error().message, 416);
      refused.headers.set("Content-Range", http::format_unsatisfiable_content_range(size));
      return refused;
    }
    range = *resolved;
    response.status = 206;
    response.headers.set("Content-Range", http::format_content_range(range, size));
  }
  const auto length = size == 0 ? 0 : range.length();
  response.body = http::open_file_body(file->release(), range.first, length);
  return response;
}

http::Response delete_blob(Registry& registry, http::Request& request) {
  auto digest = oci::Digest::parse(request.param("digest")).value();
  auto removed = registry.metadata().unlink_blob(request.param("name"), digest);
  if (!removed) return error_response(removed.error());
  if (!*removed) return error_response("BLOB_UNKNOWN", "blob unknown to registry");
  auto response = http::Response::empty(202);
  response.headers.set("Docker-Content-Digest", digest.str());
  return response;
}

}  // namespace strata::registry
