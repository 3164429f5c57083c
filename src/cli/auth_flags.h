// Command-line flags that name the token signing keys, shared by `serve` and
// the offline `strata token` commands so both sign and verify with the same
// keys and issuer: --token-secret (STRATA_TOKEN_SECRET), --token-signing
// hs256|es256 (STRATA_TOKEN_SIGNING), --issuer (STRATA_TOKEN_ISSUER).
#pragma once

#include <string>

#include "auth/auth_service.h"
#include "common/error.h"

namespace CLI {
class App;
}

namespace strata::cli {

struct TokenKeyFlags {
  std::string secret;
  std::string signing = "hs256";
  std::string issuer = "strata";
};

void add_token_key_flags(CLI::App& command, TokenKeyFlags& flags);

// AuthOptions with these keys and defaults for the rest; KEY_INVALID for an
// unknown signing algorithm.
Result<auth::AuthOptions> auth_options_from(const TokenKeyFlags& flags);

}  // namespace strata::cli
