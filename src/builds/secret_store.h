// The operator's build secrets: a directory of files, one per secret, named
// by the secret's id (--secrets-dir / STRATA_SECRETS_DIR). A build asks for
// secrets by id; the builder gets the file's path and mounts it at
// /run/secrets/<id>. Secret values never pass through the API.
//
// Ids are `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`, so an id is always a plain
// file name inside the directory. Without a directory no secret exists.
// Thread-safe (reads the directory on each call).
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace strata::builds {

bool is_valid_secret_id(std::string_view id);

class SecretStore {
 public:
  SecretStore() = default;  // no secrets
  explicit SecretStore(std::filesystem::path directory) : directory_(std::move(directory)) {}

  // The absolute path of secret `id` when it is a valid id naming a regular
  // file (or a link to one) in the directory.
  std::optional<std::filesystem::path> find(std::string_view id) const;

 private:
  std::filesystem::path directory_;
};

}  // namespace strata::builds
