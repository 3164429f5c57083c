// The operator's HTTP API for API keys (Credentials::api; the authorization
// guard has authenticated the caller, these handlers require the operator
// role and answer a tenant 403):
//   POST   /keys        {"role":"tenant","tenant":"acme"} or {"role":"operator"}
//                       -> 201 {"id","key","role","tenant"}; the key is shown once.
//   GET    /keys        -> 200 {"keys":[{"id","role","tenant","created_at","revoked"}]}
//   DELETE /keys/{id}   -> 204; 404 for an unknown or already revoked id.
// "tenant" is null for operator keys; created_at is RFC 3339. Errors are
// {"error":{"code","message"}}: BAD_REQUEST, ROLE_INVALID, TENANT_INVALID
// (400), FORBIDDEN (403), KEY_UNKNOWN (404).
//
// `auth` must outlive the router. Thread-safe.
#pragma once

#include "auth/auth_service.h"
#include "http/router.h"

namespace strata::auth {

void add_key_routes(http::Router& router, const AuthService& auth);

}  // namespace strata::auth
