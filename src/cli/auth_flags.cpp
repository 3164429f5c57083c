// Token key flags; see auth_flags.h.
#include "cli/auth_flags.h"

#include <CLI/CLI.hpp>

namespace strata::cli {

void add_token_key_flags(CLI::App& command, TokenKeyFlags& flags) {
  command.add_option("--token-secret", flags.secret, "HS256 secret (default: generated into <data-dir>/token.secret)")
      ->envname("STRATA_TOKEN_SECRET");
  command.add_option("--token-signing", flags.signing, "algorithm that signs new tokens: hs256|es256")
      ->envname("STRATA_TOKEN_SIGNING")
      ->check(CLI::IsMember({"hs256", "es256"}, CLI::ignore_case))
      ->capture_default_str();
  command.add_option("--issuer", flags.issuer, "token issuer (iss)")
      ->envname("STRATA_TOKEN_ISSUER")
      ->capture_default_str();
}

Result<auth::AuthOptions> auth_options_from(const TokenKeyFlags& flags) {
  auto signing = auth::parse_signing_algorithm(flags.signing);
  if (!signing) return std::unexpected(signing.error());
  auth::AuthOptions options;
  options.token_secret = flags.secret;
  options.signing = *signing;
  options.issuer = flags.issuer;
  return options;
}

}  // namespace strata::cli
