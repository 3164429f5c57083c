#include "builds/build_token.h"

#include "builds/cache_names.h"

namespace strata::builds {

CachePlan cache_plan(const Build& build) {
  const BuildRequest& request = build.request;
  // An absent (empty) scope or key names no repository.
  std::optional<std::string> global = global_cache_repository(request.global_cache_key);
  CachePlan plan;
  if (request.is_admin_build) {
    if (global) plan.import.push_back(*global);
    plan.export_to = std::move(global);
    return plan;
  }
  plan.export_to = tenant_cache_repository(request.cache_scope);
  if (plan.export_to) plan.import.push_back(*plan.export_to);
  if (global) plan.import.push_back(*global);
  return plan;
}

std::string output_repository(const Build& build) { return "builds/" + build.id; }

auth::GrantSet build_grants(const Build& build, std::span<const std::string> shared_namespaces) {
  using auth::Action;
  auto repository = [](std::string name, auth::ActionSet actions) {
    return auth::AccessGrant{auth::ResourceType::repository, std::move(name), actions};
  };
  CachePlan plan = cache_plan(build);
  auth::GrantSet grants;
  grants.add(repository(output_repository(build), auth::ActionSet(Action::pull) | Action::push));
  for (const auto& name : plan.import) grants.add(repository(name, Action::pull));
  if (plan.export_to) grants.add(repository(*plan.export_to, auth::ActionSet(Action::pull) | Action::push));
  for (const auto& pattern : shared_namespaces) grants.add(repository(pattern, Action::pull));
  return grants;
}

Result<IssuedBuildToken> BuildTokens::mint(const Build& build) const {
  auto minted = tokens_.mint_registry_token("build:" + build.id, build_grants(build, shared_namespaces_),
                                            build.request.timeout + kBuildTokenMargin);
  if (!minted) return std::unexpected(minted.error());
  BuildToken record{minted->jwt_id, Timestamp(std::chrono::seconds(minted->expires_at))};
  return IssuedBuildToken{std::move(minted->token), std::move(record)};
}

Result<void> BuildTokens::revoke(const BuildToken& token) const {
  auto expires = std::chrono::duration_cast<std::chrono::seconds>(token.expires_at.time_since_epoch());
  return revocations_.revoke(token.jti, expires.count());
}

}  // namespace strata::builds
