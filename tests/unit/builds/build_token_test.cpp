// The per-build registry token: the grant table of issue 5 for both build
// types (exact pull and push sets), the cache plan it comes from, and the
// token's life: minted with those grants, refused once revoked.
#include "builds/build_token.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "auth/signing_key.h"
#include "support/temp_dir.h"

namespace strata::builds {
namespace {

const std::vector<std::string> kShared = {"library/**", "base/**"};

Build make_build(std::string tenant, std::string scope, std::string key, bool admin) {
  BuildRequest request{.source_digest = oci::Digest::of(oci::DigestAlgorithm::sha256, "src")};
  request.cache_scope = std::move(scope);
  request.global_cache_key = std::move(key);
  request.is_admin_build = admin;
  request.timeout = std::chrono::seconds(600);
  Build build{.id = "babcdefghijklmnopqrst", .tenant = std::move(tenant), .request = std::move(request)};
  return build;
}

struct AccessSets {
  std::set<std::string> pull;
  std::set<std::string> push;
  bool operator==(const AccessSets&) const = default;
};

// Which names the grants let pull and push (effective actions), and nothing else.
AccessSets access_of(const auth::GrantSet& grants) {
  AccessSets sets;
  for (const auto& grant : grants.grants()) {
    EXPECT_EQ(grant.type, auth::ResourceType::repository);
    EXPECT_FALSE(grant.actions.contains(auth::Action::delete_)) << grant.name;
    auto actions = grant.actions.effective();
    if (actions.contains(auth::Action::pull)) sets.pull.insert(grant.name);
    if (actions.contains(auth::Action::push)) sets.push.insert(grant.name);
  }
  return sets;
}

TEST(BuildGrants, RegularBuildWithGlobalKey) {
  Build build = make_build("acme", "acme", "node", false);
  AccessSets expected{{"builds/babcdefghijklmnopqrst", "cache/acme", "cache/global/node", "library/**", "base/**"},
                      {"builds/babcdefghijklmnopqrst", "cache/acme"}};
  EXPECT_EQ(access_of(build_grants(build, kShared)), expected);
}

TEST(BuildGrants, RegularBuildWithoutGlobalKeyReadsNoGlobalCache) {
  Build build = make_build("acme", "acme", "", false);
  AccessSets expected{{"builds/babcdefghijklmnopqrst", "cache/acme", "library/**", "base/**"},
                      {"builds/babcdefghijklmnopqrst", "cache/acme"}};
  EXPECT_EQ(access_of(build_grants(build, kShared)), expected);
}

TEST(BuildGrants, AdminBuildWritesOnlyItsGlobalCache) {
  Build build = make_build("", "", "node", true);
  AccessSets expected{{"builds/babcdefghijklmnopqrst", "cache/global/node", "library/**", "base/**"},
                      {"builds/babcdefghijklmnopqrst", "cache/global/node"}};
  EXPECT_EQ(access_of(build_grants(build, kShared)), expected);
}

TEST(BuildGrants, AdminBuildIgnoresATenantCacheScope) {
  Build build = make_build("", "team-a", "node", true);
  auto grants = build_grants(build, kShared);
  EXPECT_FALSE(grants.may_pull("cache/team-a"));
  EXPECT_FALSE(grants.may_push("cache/team-a"));
}

TEST(BuildGrants, TenantBuildCannotWriteGlobalOrReadOtherTenants) {
  auto grants = build_grants(make_build("acme", "acme", "node", false), kShared);
  EXPECT_FALSE(grants.may_push("cache/global/node"));
  EXPECT_FALSE(grants.may_pull("cache/globex"));
  EXPECT_FALSE(grants.may_pull("cache/global/other"));
  EXPECT_FALSE(grants.may_pull("builds/bzzzzzzzzzzzzzzzzzzzz"));
}

TEST(BuildGrants, OperatorBuildWithoutScopeHasNoTenantCache) {
  AccessSets expected{{"builds/babcdefghijklmnopqrst", "library/**", "base/**"}, {"builds/babcdefghijklmnopqrst"}};
  EXPECT_EQ(access_of(build_grants(make_build("", "", "", false), kShared)), expected);
}

TEST(CachePlan, TenantCacheIsLookedUpBeforeGlobal) {
  CachePlan plan = cache_plan(make_build("acme", "acme", "node", false));
  EXPECT_EQ(plan.import, (std::vector<std::string>{"cache/acme", "cache/global/node"}));
  EXPECT_EQ(plan.export_to, "cache/acme");
  CachePlan admin = cache_plan(make_build("", "", "node", true));
  EXPECT_EQ(admin.import, (std::vector<std::string>{"cache/global/node"}));
  EXPECT_EQ(admin.export_to, "cache/global/node");
}

TEST(CachePlan, NamesThatBreakTheRulesGiveNoCacheAndNoGrant) {
  // Records are validated when submitted; this guards older or altered ones.
  Build build = make_build("acme", "../global/node", "Node", false);
  CachePlan plan = cache_plan(build);
  EXPECT_TRUE(plan.import.empty());
  EXPECT_FALSE(plan.export_to);
  AccessSets expected{{"builds/babcdefghijklmnopqrst", "library/**", "base/**"}, {"builds/babcdefghijklmnopqrst"}};
  EXPECT_EQ(access_of(build_grants(build, kShared)), expected);
  CachePlan admin = cache_plan(make_build("", "", "a/b", true));
  EXPECT_TRUE(admin.import.empty());
  EXPECT_FALSE(admin.export_to);
}

class BuildTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth::KeySet keys;
    ASSERT_TRUE(keys.add(*auth::Key::hs256("hs-1", "0123456789abcdef0123456789abcdef")));
    service = auth::TokenService::create(std::move(keys), "hs-1", *revocations).value();
  }

  strata::testing::TempDir dir;
  std::unique_ptr<auth::RevocationList> revocations = auth::RevocationList::open(dir.path()).value();
  std::unique_ptr<auth::TokenService> service;
};

TEST_F(BuildTokensTest, MintedTokenCarriesTheBuildGrantsUntilRevoked) {
  BuildTokens tokens(*service, *revocations, kShared);
  Build build = make_build("acme", "acme", "node", false);
  auto issued = tokens.mint(build);
  ASSERT_TRUE(issued) << issued.error().message;
  auto verified = service->verify_registry_token(issued->token);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ((*verified)->subject, "build:babcdefghijklmnopqrst");
  EXPECT_EQ((*verified)->jwt_id, issued->record.jti);
  EXPECT_EQ(access_of((*verified)->grants), access_of(build_grants(build, kShared)));
  auto lifetime = issued->record.expires_at - now_timestamp();
  EXPECT_GT(lifetime, std::chrono::seconds(890));
  EXPECT_LE(lifetime, std::chrono::seconds(900));

  ASSERT_TRUE(tokens.revoke(issued->record));
  auto refused = service->verify_registry_token(issued->token);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "TOKEN_REVOKED");
}

}  // namespace
}  // namespace strata::builds
