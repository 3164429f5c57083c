#include "builds/secret_store.h"

namespace strata::builds {

bool is_valid_secret_id(std::string_view id) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (id.empty() || id.size() > 128 || !alnum(id.front())) return false;
  for (char c : id)
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::optional<std::filesystem::path> SecretStore::find(std::string_view id) const {
  if (directory_.empty() || !is_valid_secret_id(id)) return std::nullopt;
  std::error_code ec;
  auto path = std::filesystem::absolute(directory_ / std::string(id), ec);
  if (ec || !std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  return path;
}

}  // namespace strata::builds
