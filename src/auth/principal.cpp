#include "auth/principal.h"

#include <algorithm>
#include <array>

namespace strata::auth {
namespace {

// Top-level namespaces the system or the default shared namespaces use.
constexpr std::array<std::string_view, 6> kReserved = {"global", "cache", "builds",
                                                       "library", "base", "mirror"};

bool id_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

bool plain_build_id(std::string_view id) {
  return !id.empty() && std::ranges::all_of(id, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

std::string_view role_name(Role role) { return role == Role::operator_ ? "operator" : "tenant"; }

Result<Role> parse_role(std::string_view name) {
  if (name == "operator") return Role::operator_;
  if (name == "tenant") return Role::tenant;
  return fail("ROLE_INVALID", "role must be operator or tenant, not \"" + std::string(name) + "\"");
}

Result<void> validate_tenant_id(std::string_view id) {
  // Not ending in '-' either: the id is a repository path component
  // (<tenant>/..., cache/<tenant>), and those end in a letter or digit.
  if (id.size() < 2 || id.size() > 63 || id.front() == '-' || id.back() == '-' ||
      !std::ranges::all_of(id, id_char))
    return fail("TENANT_INVALID",
                "tenant id must be 2-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
                std::string(id));
  if (std::ranges::find(kReserved, id) != kReserved.end())
    return fail("TENANT_INVALID", "tenant id \"" + std::string(id) + "\" is reserved");
  return {};
}

Principal Principal::operator_principal(std::string key_id) {
  return Principal{Role::operator_, {}, std::move(key_id)};
}

Result<Principal> Principal::tenant_principal(std::string tenant, std::string key_id) {
  if (auto ok = validate_tenant_id(tenant); !ok) return std::unexpected(ok.error());
  return Principal{Role::tenant, std::move(tenant), std::move(key_id)};
}

std::string Principal::subject() const {
  return is_operator() ? std::string("operator") : "tenant:" + tenant;
}

std::vector<std::string> default_shared_namespaces() { return {"library/**", "base/**", "mirror/**"}; }

GrantSet policy_for(const Principal& principal, std::span<const std::string> shared_namespaces,
                    std::span<const std::string> own_build_ids) {
  if (principal.is_operator()) return GrantSet::everything();
  GrantSet set;
  const std::string& t = principal.tenant;
  set.add({ResourceType::repository, t + "/**", ActionSet(Action::push) | Action::delete_});
  set.add({ResourceType::repository, "cache/" + t, Action::pull});
  set.add({ResourceType::repository, "cache/global/**", Action::pull});
  for (const auto& ns : shared_namespaces) set.add({ResourceType::repository, ns, Action::pull});
  for (const auto& id : own_build_ids)
    if (plain_build_id(id)) set.add({ResourceType::repository, "builds/" + id, Action::pull});
  return set;
}

}  // namespace strata::auth
