// Signing keys kept in the data directory, created on first start with mode
// 0600 and loaded on later starts, so `serve` and the offline `strata token`
// commands sign with the same keys. Key ids are derived from the key
// material, so every process that loads a file names its key the same way:
// HS256 "hs-" + a hash prefix of the secret (not reversible), ES256 the
// RFC 7638 JWK thumbprint.
//
// Errors: IO (including a key file readable by group or others),
// KEY_INVALID (a file that does not hold a usable key).
#pragma once

#include <filesystem>
#include <string>

#include "auth/signing_key.h"
#include "common/error.h"

namespace strata::auth {

// An HS256 key from a secret given by env or flag, with the derived kid.
Result<Key> hs256_key_from_secret(std::string secret);

// The file holds base64url(32 random bytes) and a newline.
Result<Key> load_or_create_hs256_key(const std::filesystem::path& file);
// The file holds a PKCS#8 PEM P-256 private key.
Result<Key> load_or_create_es256_key(const std::filesystem::path& file);

}  // namespace strata::auth
