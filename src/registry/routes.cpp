// The registry's route table: every /v2/ endpoint, the action it needs and
// its handler. Order matters: more specific patterns come first.
#include "http/router.h"
#include "registry/handlers.h"
#include "registry/registry.h"

namespace strata::registry {

void Registry::add_routes(http::Router& router) {
  using http::Action;
  using Fn = http::Response (*)(Registry&, http::Request&);
  struct Entry {
    const char* method;
    const char* pattern;
    const char* id;
    Action action;
    Fn handler;
  };
  // Upload routes need push (as in Distribution): status and cancel reveal
  // or change an unfinished push. A mount also needs pull on its source:
  // try_mount asks Registry::may_pull, and an unreadable source falls back
  // to a plain upload session, so nothing leaks.
  static constexpr Entry kRoutes[] = {
      {"GET", "/v2/", "base", Action::none, get_base},
      {"GET", "/v2/_catalog", "catalog", Action::catalog, get_catalog},
      {"GET", "/v2/{name+}/tags/list", "tags_list", Action::pull, list_tags},
      {"GET", "/v2/{name+}/manifests/{reference}", "manifest_get", Action::pull, get_manifest},
      {"HEAD", "/v2/{name+}/manifests/{reference}", "manifest_head", Action::pull, get_manifest},
      {"PUT", "/v2/{name+}/manifests/{reference}", "manifest_put", Action::push, put_manifest},
      {"DELETE", "/v2/{name+}/manifests/{reference}", "manifest_delete", Action::del, delete_manifest},
      {"POST", "/v2/{name+}/blobs/uploads/", "upload_start", Action::push, start_upload},
      {"GET", "/v2/{name+}/blobs/uploads/{uuid}", "upload_status", Action::push, get_upload_status},
      {"PATCH", "/v2/{name+}/blobs/uploads/{uuid}", "upload_patch", Action::push, patch_upload},
      {"PUT", "/v2/{name+}/blobs/uploads/{uuid}", "upload_put", Action::push, put_upload},
      {"DELETE", "/v2/{name+}/blobs/uploads/{uuid}", "upload_cancel", Action::push, cancel_upload},
      {"GET", "/v2/{name+}/blobs/{digest}", "blob_get", Action::pull, get_blob},
      {"HEAD", "/v2/{name+}/blobs/{digest}", "blob_head", Action::pull, get_blob},
      {"DELETE", "/v2/{name+}/blobs/{digest}", "blob_delete", Action::del, delete_blob},
      {"GET", "/v2/{name+}/referrers/{digest}", "referrers", Action::pull, get_referrers},
  };
  for (const auto& e : kRoutes)
    router.add({e.method, e.pattern, e.id, e.action,
                [this, fn = e.handler](http::Request& request) {
                  auto response = fn(*this, request);
                  response.headers.set("Docker-Distribution-API-Version", "registry/2.0");
                  return response;
                },
                http::Credentials::registry});
}

}  // namespace strata::registry
