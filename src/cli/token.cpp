// `strata token api|registry|inspect`: mint and check tokens offline with the
// data directory's signing keys (the same keys and flags as `serve`, see
// auth_flags.h). Operators use `token registry` for an admin push token and
// the harness for an all-access one; `inspect` shows what a token claims and
// whether this server would accept it (exit 1 if not).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "auth/auth_service.h"
#include "auth/base64url.h"
#include "auth/scope.h"
#include "cli/auth_flags.h"
#include "cli/commands.h"

namespace strata::cli {
namespace {

using nlohmann::json;

struct TokenOptions {
  std::string data_dir = "strata-data";
  TokenKeyFlags keys;
  std::string ttl;
  std::string role;
  std::string tenant;
  std::vector<std::string> access;
  std::string subject = "operator";
  std::string token;
};

// "90s", "30m", "1h", "2d".
Result<std::chrono::seconds> parse_ttl(std::string_view text) {
  auto invalid = [&] { return fail("TTL_INVALID", "TTL must look like 90s, 30m, 1h or 2d, not \"" + std::string(text) + "\""); };
  if (text.size() < 2 || text.size() > 12) return invalid();
  std::int64_t count = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return invalid();
    count = count * 10 + (c - '0');
  }
  switch (text.back()) {
    case 's': return std::chrono::seconds(count);
    case 'm': return std::chrono::minutes(count);
    case 'h': return std::chrono::hours(count);
    case 'd': return std::chrono::hours(24 * count);
  }
  return invalid();
}

int report(const Error& error) {
  std::fprintf(stderr, "strata token: %s\n", error.message.c_str());
  return 1;
}

Result<std::unique_ptr<auth::AuthService>> open_auth(const TokenOptions& options) {
  auto auth_options = auth_options_from(options.keys);
  if (!auth_options) return std::unexpected(auth_options.error());
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return fail("IO", "cannot create data directory " + options.data_dir + ": " + ec.message());
  return auth::AuthService::open(options.data_dir, std::move(*auth_options));
}

int print_minted(const Result<auth::MintedToken>& minted) {
  if (!minted) return report(minted.error());
  std::printf("%s\n", minted->token.c_str());
  return 0;
}

int mint_api(const TokenOptions& options) {
  auto ttl = parse_ttl(options.ttl);
  if (!ttl) return report(ttl.error());
  auto role = auth::parse_role(options.role);
  if (!role) return report(role.error());
  auto auth = open_auth(options);
  if (!auth) return report(auth.error());
  return print_minted((*auth)->tokens().mint_api_token(*role, options.tenant, *ttl));
}

int mint_registry(const TokenOptions& options) {
  auto ttl = parse_ttl(options.ttl);
  if (!ttl) return report(ttl.error());
  auto scopes = auth::parse_scopes(options.access);
  if (!scopes) return report(scopes.error());
  auto grants = auth::GrantSet::from_scopes(*scopes);
  if (!grants) return report(grants.error());
  auto auth = open_auth(options);
  if (!auth) return report(auth.error());
  return print_minted((*auth)->tokens().mint_registry_token(options.subject, *grants, *ttl));
}

// The decoded JSON of one part of a compact JWS, or its raw text if it is
// not JSON (inspect shows what it can of a broken token).
json decoded_part(std::string_view part) {
  auto bytes = auth::base64url_decode(part);
  if (!bytes) return nullptr;
  auto parsed = json::parse(*bytes, nullptr, false);
  return parsed.is_discarded() ? json(*bytes) : parsed;
}

bool is_api_token(const json& claims) {
  if (!claims.is_object() || !claims.contains("aud")) return false;
  const auto& aud = claims["aud"];
  if (aud.is_string()) return aud == auth::kApiAudience;
  return aud.is_array() && std::ranges::find(aud, json(auth::kApiAudience)) != aud.end();
}

int inspect(const TokenOptions& options) {
  std::string_view token = options.token;
  auto first = token.find('.');
  auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  json header = first == std::string_view::npos ? json(nullptr) : decoded_part(token.substr(0, first));
  json claims = second == std::string_view::npos ? json(nullptr)
                                                  : decoded_part(token.substr(first + 1, second - first - 1));
  std::printf("%s\n", json{{"header", header}, {"claims", claims}}.dump(2, ' ', false, json::error_handler_t::replace).c_str());

  auto auth = open_auth(options);
  if (!auth) return report(auth.error());
  const auto& tokens = (*auth)->tokens();
  std::optional<Error> refused;
  if (is_api_token(claims)) {
    if (auto identity = tokens.verify_api_token(token); !identity) refused = identity.error();
  } else if (auto access = tokens.verify_registry_token(token); !access) {
    refused = access.error();
  }
  if (refused) {
    std::printf("verified: no (%s: %s)\n", refused->code.c_str(), refused->message.c_str());
    return 1;
  }
  std::printf("verified: yes\n");
  return 0;
}

CLI::App* add_token_subcommand(CLI::App& parent, const char* name, const char* description,
                               TokenOptions& options) {
  auto* command = parent.add_subcommand(name, description);
  command->add_option("--data-dir", options.data_dir, "data directory holding the signing keys")
      ->envname("STRATA_DATA_DIR")
      ->capture_default_str();
  add_token_key_flags(*command, options.keys);
  return command;
}

}  // namespace

void add_token_command(CLI::App& app) {
  auto options = std::make_shared<TokenOptions>();
  auto* token = app.add_subcommand("token", "Mint or inspect tokens offline");
  token->require_subcommand(1);

  auto* api = add_token_subcommand(*token, "api", "Mint an API token (aud strata-api)", *options);
  api->add_option("--role", options->role, "operator or tenant")
      ->required()
      ->check(CLI::IsMember({"operator", "tenant"}));
  api->add_option("--tenant", options->tenant, "tenant id (for --role tenant)");
  api->add_option("--ttl", options->ttl, "lifetime: 90s, 30m, 1h, 2d")->default_val("1h");
  api->callback([options] { set_exit_code(mint_api(*options)); });

  auto* registry = add_token_subcommand(*token, "registry", "Mint a registry token (aud strata-registry)", *options);
  registry->add_option("--access", options->access,
                       "scope to grant, patterns allowed, e.g. repository:cache/global/*:pull (repeatable)");
  registry->add_option("--subject", options->subject, "token subject (sub)")->capture_default_str();
  registry->add_option("--ttl", options->ttl, "lifetime: 90s, 30m, 1h, 2d")->default_val("30m");
  registry->callback([options] { set_exit_code(mint_registry(*options)); });

  auto* check = add_token_subcommand(*token, "inspect", "Show a token's claims and whether it verifies", *options);
  check->add_option("jwt", options->token, "the token")->required();
  check->callback([options] { set_exit_code(inspect(*options)); });
}

}  // namespace strata::cli
