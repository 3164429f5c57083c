// The one place requests are authenticated and authorized, as a dispatcher
// guard (install it after the registry's validation guard, so names are
// well-formed before they are matched against grants). By the route's
// Credentials:
//   none      passes.
//   registry  a registry token (aud strata-registry) as "Bearer <jwt>" or as
//             the user name or password of "Basic"; API keys and API tokens
//             are refused. The route's action on the `name` param must be
//             granted: pull for reads, push for uploads and manifest PUT
//             (a mount's source is the registry's pull filter's business),
//             delete for DELETE, registry:catalog:* for the catalog, any
//             valid token for GET /v2/. Without credentials, pulls of
//             repositories matching the anonymous-pull patterns pass.
//             Refusals are 401 with the Docker token challenge
//             `Bearer realm="<public-url>/v2/token",service="strata"[,scope=..][,error=..]`
//             and UNAUTHORIZED (missing or invalid token) or DENIED
//             (insufficient scope) in the spec's error JSON.
//   api       an API key or an API token (aud strata-api) as "Bearer";
//             registry tokens are refused. 401 with {"error":{...}}.
// What passed is stored on the request (see caller.h). Every refusal is
// logged with subject, repository and action and counted as
// strata_auth_denied_total{reason="missing|invalid|scope"}.
//
// `auth` and `metrics` must outlive the guard; the guard is thread-safe.
#pragma once

#include <string>

#include "auth/auth_service.h"
#include "http/dispatcher.h"
#include "http/metrics.h"

namespace strata::auth {

// `public_url` is the base clients reach the server at ("http://host:port"),
// used for the realm of the challenge.
http::Guard authorization_guard(const AuthService& auth, std::string public_url, http::Metrics& metrics);

}  // namespace strata::auth
