#include "auth/principal.h"

#include <gtest/gtest.h>

namespace strata::auth {
namespace {

TEST(TenantId, AcceptsLowercaseNamesOfTwoToSixtyThreeCharacters) {
  for (const std::string& id : std::vector<std::string>{"ab", "acme", "a-1", "a--1", "0team", std::string(63, 'a')})
    EXPECT_TRUE(validate_tenant_id(id)) << id;
}

TEST(TenantId, RejectsNamesOutsideTheGrammar) {
  for (const std::string& id : std::vector<std::string>{"", "a", "-acme", "acme-", "Acme", "ac_me", "ac.me", "ac/me", "ac me", "acme*",
                               std::string(64, 'a')}) {
    auto ok = validate_tenant_id(id);
    ASSERT_FALSE(ok) << id;
    EXPECT_EQ(ok.error().code, "TENANT_INVALID");
  }
}

TEST(TenantId, ReservesNamespacesThatWouldOverlapSystemOnes) {
  for (const char* id : {"global", "cache", "builds", "library", "base", "mirror"})
    EXPECT_FALSE(validate_tenant_id(id)) << id;
}

TEST(Roles, ParseOnlyKnownNames) {
  EXPECT_EQ(*parse_role("operator"), Role::operator_);
  EXPECT_EQ(*parse_role("tenant"), Role::tenant);
  EXPECT_EQ(parse_role("admin").error().code, "ROLE_INVALID");
}

TEST(Policy, OperatorMayDoEverything) {
  auto policy = policy_for(Principal::operator_principal(), default_shared_namespaces());
  EXPECT_EQ(policy.actions_for("cache/global/node"), ActionSet::all());
  EXPECT_EQ(policy.actions_for("anyone/anything"), ActionSet::all());
  EXPECT_TRUE(policy.allows_catalog());
}

class TenantPolicy : public ::testing::Test {
 protected:
  std::vector<std::string> builds = {"b1", "../evil*"};
  GrantSet policy = policy_for(*Principal::tenant_principal("acme"), default_shared_namespaces(), builds);
};

TEST_F(TenantPolicy, OwnsItsNamespace) {
  EXPECT_EQ(policy.actions_for("acme/app"), ActionSet::all());
  EXPECT_EQ(policy.actions_for("acme/team/app"), ActionSet::all());
}

TEST_F(TenantPolicy, PullsItsCacheAndTheGlobalCacheButCannotWriteThem) {
  EXPECT_EQ(policy.actions_for("cache/acme"), ActionSet(Action::pull));
  EXPECT_EQ(policy.actions_for("cache/global/node"), ActionSet(Action::pull));
  EXPECT_FALSE(policy.may_push("cache/global/node"));
}

TEST_F(TenantPolicy, PullsSharedNamespaces) {
  EXPECT_EQ(policy.actions_for("library/debian"), ActionSet(Action::pull));
  EXPECT_EQ(policy.actions_for("base/alpine"), ActionSet(Action::pull));
  EXPECT_EQ(policy.actions_for("mirror/docker.io/library/node"), ActionSet(Action::pull));
}

TEST_F(TenantPolicy, PullsOnlyItsOwnPlainNamedBuilds) {
  EXPECT_TRUE(policy.may_pull("builds/b1"));
  EXPECT_FALSE(policy.may_push("builds/b1"));
  EXPECT_FALSE(policy.may_pull("builds/b2"));
  EXPECT_FALSE(policy.may_pull("builds/../evilx"));
}

TEST_F(TenantPolicy, HasNoAccessToOtherTenantsOrTheCatalog) {
  EXPECT_TRUE(policy.actions_for("other/app").empty());
  EXPECT_TRUE(policy.actions_for("cache/other").empty());
  EXPECT_TRUE(policy.actions_for("acmeother/app").empty());
  EXPECT_FALSE(policy.allows_catalog());
}

TEST(Principal, SubjectNamesRoleAndTenant) {
  EXPECT_EQ(Principal::operator_principal().subject(), "operator");
  EXPECT_EQ(Principal::tenant_principal("acme")->subject(), "tenant:acme");
  EXPECT_FALSE(Principal::tenant_principal("global"));
}

}  // namespace
}  // namespace strata::auth
