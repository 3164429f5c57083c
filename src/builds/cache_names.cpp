#include "builds/cache_names.h"

#include <algorithm>

#include <fmt/format.h>

#include "builds/field_error.h"
#include "oci/name.h"

namespace strata::builds {
namespace {

struct NameRules {
  std::string_view field;
  std::size_t min_size;
  std::size_t max_size;
  std::string_view reserved;  // empty: none
};

constexpr NameRules kScopeRules{"cache_scope", 2, 63, "global"};
constexpr NameRules kKeyRules{"global_cache_key", 1, 64, ""};

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

// Checks in the order that names the usual mistakes (upper case, a path)
// before falling back to the grammar.
Result<void> validate_name(std::string_view name, const NameRules& rules) {
  if (name.empty()) return field_error(rules.field, "must not be empty");
  if (name.size() < rules.min_size || name.size() > rules.max_size)
    return field_error(rules.field, fmt::format("must be {} to {} characters", rules.min_size, rules.max_size));
  if (std::ranges::any_of(name, is_upper))
    return field_error(rules.field, "must be lower case (upper case is refused, not folded)");
  if (name.find('/') != std::string_view::npos) return field_error(rules.field, "must be a single name without '/'");
  if (!rules.reserved.empty() && name == rules.reserved)
    return field_error(rules.field, fmt::format("\"{}\" is reserved for the global cache", rules.reserved));
  // Without '/', a valid repository name is exactly one path component.
  if (!oci::is_valid_repository_name(name))
    return field_error(rules.field,
                       "must be lowercase letters and digits joined by '.', '_', '__' or '-', "
                       "starting and ending with a letter or digit");
  return {};
}

}  // namespace

Result<void> validate_cache_scope(std::string_view scope) { return validate_name(scope, kScopeRules); }

Result<void> validate_global_cache_key(std::string_view key) { return validate_name(key, kKeyRules); }

std::optional<std::string> tenant_cache_repository(std::string_view scope) {
  if (!validate_cache_scope(scope)) return std::nullopt;
  return fmt::format("cache/{}", scope);
}

std::optional<std::string> global_cache_repository(std::string_view key) {
  if (!validate_global_cache_key(key)) return std::nullopt;
  return fmt::format("cache/global/{}", key);
}

std::string cache_mount_scope(const BuildRequest& request) {
  if (request.is_admin_build && !request.global_cache_key.empty()) return "global-" + request.global_cache_key;
  if (!request.is_admin_build && !request.cache_scope.empty()) return "scope-" + request.cache_scope;
  return "operator";
}

}  // namespace strata::builds
