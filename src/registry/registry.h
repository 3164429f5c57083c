// The OCI registry (distribution-spec v1.1) as a set of routes over local
// storage. Registry owns the stores; the handlers (one file per resource, as
// in CNCF Distribution: blob.cpp, blob_upload.cpp, manifests.cpp, tags.cpp,
// catalog.cpp, referrers.cpp) parse the request, call storage and answer with
// the spec's status codes, headers and error JSON. Authorization is not done
// here: every route carries its action, checked by a guard before handlers.
//
// Thread-safety: handlers run concurrently from many connection threads; the
// stores are safe for that.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "common/error.h"
#include "http/dispatcher.h"
#include "http/router.h"

namespace strata::registry {

class BlobStore;
class MetadataStore;
class UploadStore;

// Which repositories the caller may read; the catalog and mount without
// `from` show or use only those. Default: all.
using PullFilter = std::function<bool(const http::Request&, const std::string& repository)>;

class Registry {
 public:
  static Result<std::unique_ptr<Registry>> open(const std::filesystem::path& data_dir);
  ~Registry();

  // Adds every /v2/ route, in matching order.
  void add_routes(http::Router& router);
  // Rejects malformed names, digests and references (NAME_INVALID,
  // DIGEST_INVALID, TAG_INVALID) before authorization or handlers see them.
  static http::Guard validation_guard();

  void set_pull_filter(PullFilter filter) { pull_filter_ = std::move(filter); }
  bool may_pull(const http::Request& request, const std::string& repository) const {
    return !pull_filter_ || pull_filter_(request, repository);
  }

  BlobStore& blobs() { return *blobs_; }
  MetadataStore& metadata() { return *metadata_; }
  UploadStore& uploads() { return *uploads_; }

 private:
  Registry() = default;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<MetadataStore> metadata_;
  std::unique_ptr<UploadStore> uploads_;
  PullFilter pull_filter_;
};

}  // namespace strata::registry
