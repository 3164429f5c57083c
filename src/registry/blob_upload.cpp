// Blob upload handlers: POST (session start, monolithic ?digest=, mount),
// PATCH chunks, PUT to finish, GET status and DELETE cancel under
// /v2/<name>/blobs/uploads/. Request bodies stream straight to disk.
#include <string>

#include "http/range.h"
#include "oci/digest.h"
#include "oci/name.h"
#include "registry/blob_store.h"
#include "registry/errors.h"
#include "registry/handlers.h"
#include "registry/metadata_store.h"
#include "registry/registry.h"
#include "registry/upload_store.h"

namespace strata::registry {
namespace {

ReadFn body_reader(http::Request& request) {
  return [&request](char* buffer, std::size_t size) { return request.body->read(buffer, size); };
}

bool has_body(const http::Request& request) {
  auto length = request.body->content_length();
  return !length || *length > 0;
}

std::string upload_location(const std::string& repo, const std::string& uuid) {
  return "/v2/" + repo + "/blobs/uploads/" + uuid;
}

// 202 answer describing an open session.
http::Response session_response(int status, const std::string& repo, const std::string& uuid,
                                std::uint64_t offset) {
  auto response = http::Response::empty(status);
  response.headers.set("Location", upload_location(repo, uuid));
  response.headers.set("Docker-Upload-UUID", uuid);
  response.headers.set("Range", http::format_upload_range(offset));
  return response;
}

// 201 answer for a blob now linked to `repo`.
http::Response created(const std::string& repo, const oci::Digest& digest) {
  auto response = http::Response::empty(201);
  response.headers.set("Location", "/v2/" + repo + "/blobs/" + digest.str());
  response.headers.set("Docker-Content-Digest", digest.str());
  return response;
}

Result<oci::Digest> digest_param(const http::Request& request, std::string_view name) {
  auto value = request.query_param(name);
  if (!value) return fail("DIGEST_INVALID", "the " + std::string(name) + " query parameter is required");
  return oci::Digest::parse(*value);
}

// Cross-repository mount. With `from`, the blob must be linked there; without
// it, any repository the caller may pull that holds the blob will do
// (automatic content discovery). Returns whether the blob is now linked.
Result<bool> try_mount(Registry& registry, const http::Request& request, const std::string& repo,
                       const oci::Digest& digest) {
  if (!registry.blobs().stat(digest)) return false;
  if (auto from = request.query_param("from")) {
    if (!oci::is_valid_repository_name(*from)) return false;
    auto linked = registry.metadata().is_blob_linked(*from, digest);
    if (!linked) return std::unexpected(linked.error());
    if (!*linked || !registry.may_pull(request, *from)) return false;
  } else {
    auto holders = registry.metadata().repos_with_blob(digest);
    if (!holders) return std::unexpected(holders.error());
    bool visible = false;
    for (const auto& holder : *holders) visible = visible || registry.may_pull(request, holder);
    if (!visible) return false;
  }
  if (auto ok = registry.metadata().link_blob(repo, digest); !ok) return std::unexpected(ok.error());
  return true;
}

// POST ?digest=: the whole blob in one request, straight into the blob store.
http::Response monolithic_upload(Registry& registry, http::Request& request, const std::string& repo) {
  auto digest = digest_param(request, "digest");
  if (!digest) return error_response(digest.error());
  auto writer = registry.blobs().create_writer();
  if (!writer) return error_response(writer.error());
  if (auto ok = writer->write_from(body_reader(request)); !ok)
    return error_response("BLOB_UPLOAD_INVALID", "upload interrupted: " + ok.error().message);
  auto committed = writer->commit(*digest);
  if (!committed) return error_response(committed.error());
  if (auto ok = registry.metadata().link_blob(repo, *digest); !ok) return error_response(ok.error());
  return created(repo, *digest);
}

}  // namespace

http::Response start_upload(Registry& registry, http::Request& request) {
  const auto& repo = request.param("name");
  if (request.query_param("mount")) {
    auto digest = digest_param(request, "mount");
    if (!digest) return error_response(digest.error());
    auto mounted = try_mount(registry, request, repo, *digest);
    if (!mounted) return error_response(mounted.error());
    if (*mounted) return created(repo, *digest);
    // Not mountable: fall back to a regular upload session, as the spec says.
  } else if (request.query_param("digest")) {
    return monolithic_upload(registry, request, repo);
  }
  auto uuid = registry.uploads().create(repo);
  if (!uuid) return error_response(uuid.error());
  return session_response(202, repo, *uuid, 0);
}

http::Response get_upload_status(Registry& registry, http::Request& request) {
  const auto& repo = request.param("name");
  const auto& uuid = request.param("uuid");
  auto status = registry.uploads().status(uuid, repo);
  if (!status) return error_response(status.error());
  return session_response(204, repo, uuid, status->offset);
}

http::Response patch_upload(Registry& registry, http::Request& request) {
  const auto& repo = request.param("name");
  const auto& uuid = request.param("uuid");
  std::optional<std::uint64_t> start;
  if (auto header = request.headers.get("Content-Range")) {
    auto range = http::parse_upload_content_range(*header);
    if (!range) return error_response("BLOB_UPLOAD_INVALID", range.error().message, 416);
    auto length = request.body->content_length();
    if (length && *length != range->length())
      return error_response("BLOB_UPLOAD_INVALID", "Content-Length does not match Content-Range", 416);
    start = range->first;
  }
  auto offset = registry.uploads().append(uuid, repo, start, body_reader(request));
  if (!offset) {
    if (offset.error().code == "RANGE_INVALID") {
      auto refused = error_response("BLOB_UPLOAD_INVALID", offset.error().message, 416);
      if (auto status = registry.uploads().status(uuid, repo))
        refused.headers.set("Range", http::format_upload_range(status->offset));
      return refused;
    }
    if (offset.error().code == "BLOB_UPLOAD_UNKNOWN") return error_response(offset.error());
    return error_response("BLOB_UPLOAD_INVALID", "chunk not stored: " + offset.error().message);
  }
  return session_response(202, repo, uuid, *offset);
}

http::Response put_upload(Registry& registry, http::Request& request) {
  const auto& repo = request.param("name");
  const auto& uuid = request.param("uuid");
  auto digest = digest_param(request, "digest");
  if (!digest) return error_response(digest.error());
  if (has_body(request)) {
    std::optional<std::uint64_t> start;
    if (auto header = request.headers.get("Content-Range")) {
      auto range = http::parse_upload_content_range(*header);
      if (!range) return error_response("BLOB_UPLOAD_INVALID", range.error().message, 416);
      start = range->first;
    }
    auto offset = registry.uploads().append(uuid, repo, start, body_reader(request));
    if (!offset) {
      if (offset.error().code == "RANGE_INVALID")
        return error_response("BLOB_UPLOAD_INVALID", offset.error().message, 416);
      if (offset.error().code == "BLOB_UPLOAD_UNKNOWN") return error_response(offset.error());
      return error_response("BLOB_UPLOAD_INVALID", "final chunk not stored: " + offset.error().message);
    }
  }
  auto finished = registry.uploads().finish(uuid, repo, *digest);
  if (!finished) return error_response(finished.error());
  return created(repo, *digest);
}

http::Response cancel_upload(Registry& registry, http::Request& request) {
  auto cancelled = registry.uploads().cancel(request.param("uuid"), request.param("name"));
  if (!cancelled) return error_response(cancelled.error());
  return http::Response::empty(204);
}

}  // namespace strata::registry
