// Base64url (RFC 4648 §5) without padding, as JWS compact serialization uses
// it. Decoding is strict so that one token has exactly one textual form:
// padding, whitespace, characters outside the URL-safe alphabet, an
// impossible length (len % 4 == 1) and non-zero unused trailing bits are all
// rejected with TOKEN_MALFORMED. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace strata::auth {

std::string base64url_encode(std::string_view bytes);
Result<std::string> base64url_decode(std::string_view text);

}  // namespace strata::auth
