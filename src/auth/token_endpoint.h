// The Docker token protocol's server side, and the public keys to check its
// tokens with. Routes, all Credentials::none (they authenticate themselves):
//
//   GET  /v2/token?service=strata&scope=...&scope=...
//        Authorization: Basic base64(<anything>:<API key>) (or the key as
//        user name with an empty password), or no Authorization at all.
//        200 {"token","access_token","expires_in","issued_at"}.
//   POST /v2/token   application/x-www-form-urlencoded, OAuth2 "password"
//        grant: grant_type, username, password (the API key), service,
//        scope (space-separated), client_id.
//        200 {"access_token","token_type":"Bearer","expires_in","issued_at","scope"}.
//   GET  /.well-known/jwks.json   the ES256 public keys ({"keys":[...]}).
//
// A token grants the intersection of the requested scopes and what the
// caller may have (AuthService::policy_for, plus the anonymous-pull
// patterns, which anyone may have); a partial or empty grant is not an
// error. Scopes follow the spec's grammar (scope.h). Errors, in OAuth2's
// shape {"error","error_description"} for both forms: unknown or revoked API
// key 401 invalid_grant (with `WWW-Authenticate: Basic realm="strata"`),
// malformed scope 400 invalid_scope, POST only: grant_type other than
// password 400 unsupported_grant_type, a body that is not a form 400
// invalid_request. Every grant is logged with subject, requested and
// granted scopes.
//
// `auth` must outlive the router. Thread-safe.
#pragma once

#include "auth/auth_service.h"
#include "http/router.h"

namespace strata::auth {

void add_token_routes(http::Router& router, const AuthService& auth);

}  // namespace strata::auth
