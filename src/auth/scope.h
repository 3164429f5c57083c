// Docker token scopes ("resourcetype[(class)]:resourcename:action[,action]*")
// as the Docker token authentication spec defines them. The type is split
// off the front and the actions off the LAST ':' because a resource name may
// itself contain ':' (a "host:5000/" prefix). The resource class is accepted
// and dropped: `repository(plugin)` means `repository`. Names follow the
// spec's grammar, with '*' additionally allowed so the same syntax can carry
// grant patterns (`repository:cache/global/*:pull`). Anything else is
// SCOPE_INVALID with a message naming the offending scope. Pure; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace strata::auth {

struct Scope {
  std::string type;                  // e.g. "repository", "registry"
  std::string name;                  // e.g. "cache/acme", "catalog"
  std::vector<std::string> actions;  // e.g. {"pull", "push"}, {"*"}

  std::string str() const;  // "type:name:a,b"
  friend bool operator==(const Scope&, const Scope&) = default;
};

Result<Scope> parse_scope(std::string_view text);

// All scopes of a request: each `scope` parameter may hold several scopes
// separated by spaces.
Result<std::vector<Scope>> parse_scopes(std::span<const std::string> params);

}  // namespace strata::auth
