// The registry access one build runs with. The cache plan (which cache
// repositories a build reads, in lookup order, and which one it writes) and
// the grants of its token both come from the build alone, so the table in
// ARCHITECTURE.md and issue 5 has one home:
//
//   build                     pull                                          push
//   regular, scope S, key K   builds/{id}, cache/S, cache/global/K (if K),  builds/{id}, cache/S
//                             shared namespaces
//   admin, key K              builds/{id}, cache/global/K, shared           builds/{id}, cache/global/K
//
// A regular build's scope S is its request's cache_scope (a tenant's own id;
// an operator build may have none, and then reads and writes no tenant
// cache). Shared namespaces are the operator's pull patterns for base images.
// The cache repository names come from cache_names.h; a scope or key that
// breaks its rules there names no repository, so it adds no grant.
//
// BuildTokens mints the token (subject "build:<id>", lifetime = the build's
// timeout + 300 s so a slow push still finishes) and revokes it when the
// build ends. Thread-safe; it borrows the token service and revocation list,
// which must outlive it. Errors: those of TokenService and RevocationList.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auth/access.h"
#include "auth/revocation.h"
#include "auth/token_service.h"
#include "builds/build_record.h"
#include "common/error.h"

namespace strata::builds {

struct CachePlan {
  std::vector<std::string> import{};  // cache repositories, in lookup order
  std::optional<std::string> export_to{};  // the one cache repository the build writes
};

CachePlan cache_plan(const Build& build);

// "builds/{id}": where the build pushes its image.
std::string output_repository(const Build& build);

auth::GrantSet build_grants(const Build& build, std::span<const std::string> shared_namespaces);

inline constexpr std::chrono::seconds kBuildTokenMargin{300};

struct IssuedBuildToken {
  std::string token;  // the JWT handed to the builder
  BuildToken record;  // jti and expiry, stored for revocation
};

class BuildTokens {
 public:
  BuildTokens(const auth::TokenService& tokens, auth::RevocationList& revocations,
              std::vector<std::string> shared_namespaces)
      : tokens_(tokens), revocations_(revocations), shared_namespaces_(std::move(shared_namespaces)) {}

  Result<IssuedBuildToken> mint(const Build& build) const;
  Result<void> revoke(const BuildToken& token) const;

 private:
  const auth::TokenService& tokens_;
  auth::RevocationList& revocations_;
  std::vector<std::string> shared_namespaces_;
};

}  // namespace strata::builds
