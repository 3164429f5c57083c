// Registry request handlers, one group per resource of the distribution API
// (internal to src/registry; routes.cpp binds them to the route table).
// Each handler receives a request whose route parameters are already
// validated (name, digest, reference, uuid) and authorized; it parses the
// rest, calls storage and answers with the spec's codes and headers.
#pragma once

#include "http/message.h"

namespace strata::registry {

class Registry;

// GET /v2/
http::Response get_base(Registry&, http::Request&);

// blob.cpp: /v2/<name>/blobs/<digest>
http::Response get_blob(Registry&, http::Request&);  // GET and HEAD
http::Response delete_blob(Registry&, http::Request&);

// blob_upload.cpp: /v2/<name>/blobs/uploads/[<uuid>]
http::Response start_upload(Registry&, http::Request&);  // POST (+ ?digest=, ?mount=&from=)
http::Response get_upload_status(Registry&, http::Request&);
http::Response patch_upload(Registry&, http::Request&);
http::Response put_upload(Registry&, http::Request&);
http::Response cancel_upload(Registry&, http::Request&);

// manifests.cpp: /v2/<name>/manifests/<reference>
http::Response get_manifest(Registry&, http::Request&);  // GET and HEAD
http::Response put_manifest(Registry&, http::Request&);
http::Response delete_manifest(Registry&, http::Request&);

// tags.cpp, catalog.cpp, referrers.cpp
http::Response list_tags(Registry&, http::Request&);
http::Response get_catalog(Registry&, http::Request&);
http::Response get_referrers(Registry&, http::Request&);

}  // namespace strata::registry
