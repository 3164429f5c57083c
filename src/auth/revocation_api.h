// The operator's HTTP API for revoking issued tokens before they expire
// (Credentials::api; operator only, a tenant gets 403):
//   POST /tokens/revoke   {"token":"<jwt>"}  -> 200 {"jti","expires_at"}
// The token may be a registry or an API token; it must still verify (an
// expired or forged token is already refused everywhere: 400 TOKEN_INVALID).
// From then on the registry and the API refuse it (TOKEN_REVOKED) until it
// expires. Builds revoke their own tokens in-process (RevocationList).
#pragma once

#include "auth/auth_service.h"
#include "http/router.h"

namespace strata::auth {

void add_revocation_routes(http::Router& router, const AuthService& auth);

}  // namespace strata::auth
