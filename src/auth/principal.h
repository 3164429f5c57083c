// Who is asking, and what they may ever be granted. A principal is the
// operator (everything) or one tenant; its policy is the GrantSet the token
// endpoint intersects every request with:
//
//   operator   everything
//   tenant T   pull: T/**, cache/T, cache/global/**, the shared namespaces
//                    (default library/**, base/**, mirror/**), builds/<id>
//                    for each of T's own builds
//              push, delete: T/**
//
// Tenant ids are `[a-z0-9][a-z0-9-]{1,62}`. Names that are namespaces of
// their own are reserved, because tenant T owns `T/**`: a tenant named
// "cache" would own cache/global. Pure; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/access.h"
#include "common/error.h"

namespace strata::auth {

enum class Role { operator_, tenant };

std::string_view role_name(Role role);             // "operator" / "tenant"
Result<Role> parse_role(std::string_view name);    // ROLE_INVALID otherwise

// TENANT_INVALID with the reason, or success.
Result<void> validate_tenant_id(std::string_view id);

struct Principal {
  Role role = Role::tenant;
  std::string tenant;  // empty for the operator
  std::string key_id;  // the API key that authenticated it, if any

  static Principal operator_principal(std::string key_id = {});
  static Result<Principal> tenant_principal(std::string tenant, std::string key_id = {});
  bool is_operator() const { return role == Role::operator_; }
  // "operator" or "tenant:<id>", the token `sub` and the name in logs.
  std::string subject() const;
};

std::vector<std::string> default_shared_namespaces();  // library/**, base/**, mirror/**

// `own_build_ids` are the ids of the tenant's builds (ignored for the
// operator); ids that are not plain names are skipped so they cannot act as
// patterns.
GrantSet policy_for(const Principal& principal, std::span<const std::string> shared_namespaces,
                    std::span<const std::string> own_build_ids = {});

}  // namespace strata::auth
