// `strata keys create|list|revoke`: API keys, offline from the data
// directory's auth.db (the same store `serve` uses; a running server sees
// new and revoked keys at once, since every authentication reads the store).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "auth/api_keys.h"
#include "common/rfc3339.h"
#include "cli/commands.h"

namespace strata::cli {
namespace {

struct KeysOptions {
  std::string data_dir = "strata-data";
  std::string role;
  std::string tenant;
  std::string id;
};

Result<std::unique_ptr<auth::ApiKeyStore>> open_store(const KeysOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return fail("IO", "cannot create data directory " + options.data_dir + ": " + ec.message());
  return auth::ApiKeyStore::open(options.data_dir);
}

int report(const Error& error) {
  std::fprintf(stderr, "strata keys: %s\n", error.message.c_str());
  return 1;
}

int create_key(const KeysOptions& options) {
  auto role = auth::parse_role(options.role);
  if (!role) return report(role.error());
  auto store = open_store(options);
  if (!store) return report(store.error());
  auto key = (*store)->create(*role, options.tenant);
  if (!key) return report(key.error());
  std::printf("%s\n", key->secret.c_str());
  std::fprintf(stderr, "created API key %s (%s%s%s); it is shown only once\n", key->info.id.c_str(),
               std::string(auth::role_name(*role)).c_str(), options.tenant.empty() ? "" : " ",
               options.tenant.c_str());
  return 0;
}

int list_keys(const KeysOptions& options) {
  auto store = open_store(options);
  if (!store) return report(store.error());
  auto keys = (*store)->list();
  if (!keys) return report(keys.error());
  std::printf("%-10s %-9s %-20s %-21s %s\n", "ID", "ROLE", "TENANT", "CREATED", "STATUS");
  for (const auto& key : *keys)
    std::printf("%-10s %-9s %-20s %-21s %s\n", key.id.c_str(), std::string(auth::role_name(key.role)).c_str(),
                key.tenant.empty() ? "-" : key.tenant.c_str(), rfc3339(key.created_at).c_str(),
                key.revoked_at ? "revoked" : "active");
  return 0;
}

int revoke_key(const KeysOptions& options) {
  auto store = open_store(options);
  if (!store) return report(store.error());
  if (auto ok = (*store)->revoke(options.id); !ok) return report(ok.error());
  std::printf("revoked %s\n", options.id.c_str());
  return 0;
}

void add_data_dir(CLI::App& command, KeysOptions& options) {
  command.add_option("--data-dir", options.data_dir, "data directory of the server")
      ->envname("STRATA_DATA_DIR")
      ->capture_default_str();
}

}  // namespace

void add_keys_command(CLI::App& app) {
  auto options = std::make_shared<KeysOptions>();
  auto* keys = app.add_subcommand("keys", "Create, list and revoke API keys");
  keys->require_subcommand(1);

  auto* create = keys->add_subcommand("create", "Create an API key and print it");
  add_data_dir(*create, *options);
  create->add_option("--role", options->role, "operator or tenant")
      ->required()
      ->check(CLI::IsMember({"operator", "tenant"}));
  create->add_option("--tenant", options->tenant, "tenant id (for --role tenant)");
  create->callback([options] { set_exit_code(create_key(*options)); });

  auto* list = keys->add_subcommand("list", "List API keys (never their secrets)");
  add_data_dir(*list, *options);
  list->callback([options] { set_exit_code(list_keys(*options)); });

  auto* revoke = keys->add_subcommand("revoke", "Revoke an API key by id");
  add_data_dir(*revoke, *options);
  revoke->add_option("id", options->id, "key id, as `keys list` shows it")->required();
  revoke->callback([options] { set_exit_code(revoke_key(*options)); });
}

}  // namespace strata::cli
