// Compact JWS / JWT signing and verification (RFC 7515/7519), following
// Distribution's token verifier: the key is chosen by the `kid` header and
// each key accepts only its own pinned algorithm, so `alg: none`, an HS*
// token against an ES key (algorithm confusion) and unknown algorithms are
// refused before any signature check. Parsing is strict: at most
// max_token_bytes, exactly three non-empty parts, strict base64url, header
// and payload JSON objects without duplicate members, typed registered
// claims. The payload JSON is only parsed once the signature verified.
//
// Every failure is an Error whose code starts with "TOKEN_" (callers answer
// 401 invalid_token for all of them); the code says which check failed:
//   TOKEN_TOO_LARGE, TOKEN_MALFORMED, TOKEN_ALGORITHM, TOKEN_KEY_UNKNOWN,
//   TOKEN_SIGNATURE, TOKEN_CLAIMS (wrong claim types or missing exp/iss/aud),
//   TOKEN_ISSUER, TOKEN_AUDIENCE, TOKEN_EXPIRED, TOKEN_NOT_YET_VALID.
// Pure functions over their arguments; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/signing_key.h"
#include "common/error.h"

namespace strata::auth {

// Registered claims (RFC 7519 §4.1). Times are seconds since the epoch.
struct RegisteredClaims {
  std::string issuer;                  // iss (required)
  std::string subject;                 // sub
  std::vector<std::string> audience;   // aud: a string or an array (required)
  std::int64_t expires_at = 0;         // exp (required)
  std::optional<std::int64_t> not_before;  // nbf
  std::optional<std::int64_t> issued_at;   // iat
  std::string jwt_id;                  // jti
};

struct VerifiedJwt {
  std::string kid;
  JwsAlgorithm algorithm;
  RegisteredClaims claims;
  std::string payload_json;  // the whole payload, for claims beyond the registered ones
};

struct VerifyOptions {
  std::string issuer;    // iss must equal this
  std::string audience;  // aud must contain this
  std::int64_t now = 0;  // seconds since the epoch
  std::int64_t leeway_seconds = 60;  // applies to exp, nbf and iat
  std::size_t max_token_bytes = 8 * 1024;
};

// Signs `payload_json` (a JSON object) with `key`; the header carries alg,
// typ JWT and kid.
Result<std::string> sign_jwt(const Key& key, std::string_view payload_json);

Result<VerifiedJwt> verify_jwt(std::string_view token, const KeySet& keys,
                               const VerifyOptions& options);

}  // namespace strata::auth
