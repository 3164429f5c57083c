#include "auth/access.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace strata::auth {
namespace {

using nlohmann::json;

GrantSet from_claims(const json& payload) {
  auto grants = GrantSet::from_claims(payload.dump());
  EXPECT_TRUE(grants) << grants.error().message;
  return grants.value_or(GrantSet{});
}

std::vector<Scope> scopes(std::initializer_list<const char*> texts) {
  std::vector<Scope> out;
  for (const char* t : texts) out.push_back(*parse_scope(t));
  return out;
}

TEST(NamePatterns, SingleStarStaysWithinOneSegment) {
  EXPECT_TRUE(name_matches("cache/global/*", "cache/global/node"));
  EXPECT_FALSE(name_matches("cache/global/*", "cache/global/node/extra"));
  EXPECT_FALSE(name_matches("cache/global/*", "cache/globalx/node"));
  EXPECT_TRUE(name_matches("cache/*/node", "cache/acme/node"));
  EXPECT_TRUE(name_matches("acme/app-*", "acme/app-web"));
}

TEST(NamePatterns, DoubleStarCrossesSegments) {
  EXPECT_TRUE(name_matches("acme/**", "acme/app"));
  EXPECT_TRUE(name_matches("acme/**", "acme/team/app/x"));
  EXPECT_FALSE(name_matches("acme/**", "acme"));
  EXPECT_FALSE(name_matches("acme/**", "acmeother/app"));
  EXPECT_TRUE(name_matches("**", "anything/at/all"));
  EXPECT_TRUE(name_matches("a/**/z", "a/b/c/z"));
  EXPECT_TRUE(name_matches("a/**z", "a/z"));
}

TEST(NamePatterns, LiteralNamesMatchOnlyThemselves) {
  EXPECT_TRUE(name_matches("cache/acme", "cache/acme"));
  EXPECT_FALSE(name_matches("cache/acme", "cache/acme/x"));
  EXPECT_FALSE(name_matches("cache/acme", "cache/acm"));
}

TEST(NamePatterns, ManyStarsDoNotBlowUp) {
  std::string pattern;
  for (int i = 0; i < 100; ++i) pattern += "*a";
  EXPECT_FALSE(name_matches(pattern, std::string(200, 'a') + "b"));
}

TEST(NamePatterns, NamesLongerThanRepositoryLimitStillMatch) {
  std::string tail(300, 'c');
  EXPECT_TRUE(name_matches("a/*/**", "a/b/" + tail));
  EXPECT_FALSE(name_matches("a/*/x*", "a/b/" + tail));
  EXPECT_TRUE(name_matches("a/*/c*", "a/b/" + tail));
}

TEST(GrantSet, DockerAccessClaimGrantsActionsPerRepository) {
  auto grants = from_claims({{"access",
                              {{{"type", "repository"}, {"name", "cache/acme"}, {"actions", {"pull", "push"}}},
                               {{"type", "repository"}, {"name", "cache/global/*"}, {"actions", {"pull"}}}}}});
  EXPECT_TRUE(grants.may_push("cache/acme"));
  EXPECT_TRUE(grants.may_pull("cache/global/node"));
  EXPECT_FALSE(grants.may_push("cache/global/node"));
  EXPECT_FALSE(grants.may_pull("cache/other"));
  EXPECT_FALSE(grants.allows_catalog());
}

TEST(GrantSet, ReposWithOneScopeGivesEveryRepoThatScope) {
  auto grants = from_claims({{"repos", {"builds/abc", "cache/acme"}}, {"scope", "push"}});
  EXPECT_TRUE(grants.may_push("builds/abc"));
  EXPECT_TRUE(grants.may_push("cache/acme"));
  EXPECT_TRUE(grants.may_pull("cache/acme"));
  EXPECT_FALSE(grants.may_pull("cache/other"));
}

TEST(GrantSet, RepoAccessGivesEachRepoItsOwnScope) {
  auto grants = from_claims({{"repo_access",
                              {{{"repo", "cache/global/node"}, {"scope", "pull"}},
                               {{"repo", "cache/acme"}, {"scope", "push"}}}}});
  EXPECT_EQ(grants.actions_for("cache/global/node"), ActionSet(Action::pull));
  EXPECT_EQ(grants.actions_for("cache/acme"), ActionSet(Action::pull) | Action::push);
  EXPECT_FALSE(grants.may_push("cache/global/node"));
}

TEST(GrantSet, AllThreeShapesNormaliseToTheSameGrants) {
  auto docker = from_claims(
      {{"access", {{{"type", "repository"}, {"name", "cache/acme"}, {"actions", {"push"}}}}}});
  auto repos = from_claims({{"repos", {"cache/acme"}}, {"scope", "push"}});
  auto repo_access = from_claims({{"repo_access", {{{"repo", "cache/acme"}, {"scope", "push"}}}}});
  EXPECT_EQ(docker, repos);
  EXPECT_EQ(repos, repo_access);
}

TEST(GrantSet, ShapesPresentTogetherAreUnited) {
  auto grants = from_claims({{"repos", {"a/x"}},
                             {"scope", "pull"},
                             {"repo_access", {{{"repo", "b/y"}, {"scope", "push"}}}}});
  EXPECT_TRUE(grants.may_pull("a/x"));
  EXPECT_TRUE(grants.may_push("b/y"));
}

TEST(GrantSet, PushImpliesPullOnTheSameNameOnly) {
  GrantSet grants;
  grants.add({ResourceType::repository, "acme/app", Action::push});
  EXPECT_TRUE(grants.may_pull("acme/app"));
  EXPECT_FALSE(grants.allows("acme/app", Action::delete_));
  EXPECT_FALSE(grants.may_pull("acme/other"));
}

TEST(GrantSet, DeleteIsSeparateFromPullAndPush) {
  GrantSet grants;
  grants.add({ResourceType::repository, "acme/app", Action::delete_});
  EXPECT_TRUE(grants.allows("acme/app", Action::delete_));
  EXPECT_FALSE(grants.may_pull("acme/app"));
  EXPECT_FALSE(grants.may_push("acme/app"));
}

TEST(GrantSet, StarActionMeansAll) {
  auto grants = from_claims({{"access", {{{"type", "repository"}, {"name", "acme/**"}, {"actions", {"*"}}}}}});
  EXPECT_EQ(grants.actions_for("acme/app"), ActionSet::all());
}

TEST(GrantSet, ActionsForUnitesMatchingPatterns) {
  GrantSet grants;
  grants.add({ResourceType::repository, "acme/**", Action::pull});
  grants.add({ResourceType::repository, "acme/app", Action::delete_});
  EXPECT_EQ(grants.actions_for("acme/app"), ActionSet(Action::pull) | Action::delete_);
  EXPECT_EQ(grants.actions_for("acme/web"), ActionSet(Action::pull));
  EXPECT_TRUE(grants.actions_for("other/app").empty());
}

TEST(GrantSet, CatalogNeedsRegistryCatalogStar) {
  EXPECT_TRUE(from_claims({{"access", {{{"type", "registry"}, {"name", "catalog"}, {"actions", {"*"}}}}}})
                  .allows_catalog());
  EXPECT_FALSE(from_claims({{"access", {{{"type", "registry"}, {"name", "catalog"}, {"actions", {"pull"}}}}}})
                   .allows_catalog());
  EXPECT_FALSE(from_claims({{"access", {{{"type", "repository"}, {"name", "catalog"}, {"actions", {"*"}}}}}})
                   .allows_catalog());
}

TEST(GrantSet, UnknownTypesAndActionsGrantNothing) {
  auto grants = from_claims({{"access",
                              {{{"type", "plugin"}, {"name", "acme/app"}, {"actions", {"pull"}}},
                               {{"type", "repository"}, {"name", "acme/web"}, {"actions", {"mount"}}}}}});
  EXPECT_TRUE(grants.empty());
}

TEST(GrantSet, ClaimsWithoutAnyShapeGrantNothing) {
  EXPECT_TRUE(from_claims({{"sub", "x"}}).empty());
}

TEST(GrantSet, RejectsClaimsOfTheWrongType) {
  for (const json& payload : std::vector<json>{
           {{"access", "repository:a:pull"}},
           {{"access", {"not-an-object"}}},
           {{"access", {{{"type", "repository"}, {"name", 5}, {"actions", {"pull"}}}}}},
           {{"access", {{{"type", "repository"}, {"name", "a"}, {"actions", "pull"}}}}},
           {{"access", {{{"type", "repository"}, {"name", "a"}, {"actions", {1}}}}}},
           {{"access", {{{"name", "a"}, {"actions", {"pull"}}}}}},
           {{"repos", "a"}, {"scope", "pull"}},
           {{"repos", {"a"}}},
           {{"repos", {"a"}}, {"scope", 1}},
           {{"repos", {1}}, {"scope", "pull"}},
           {{"repo_access", {{{"repo", "a"}}}}},
           {{"repo_access", {{"repo", "a"}, {"scope", "pull"}}}},
           {{"repo_access", {{{"repo", "a/***"}, {"scope", "pull"}}}}},
           {{"repo_access", {{{"repo", ""}, {"scope", "pull"}}}}},
       }) {
    auto grants = GrantSet::from_claims(payload.dump());
    ASSERT_FALSE(grants) << payload.dump();
    EXPECT_EQ(grants.error().code, "TOKEN_CLAIMS") << payload.dump();
  }
}

TEST(GrantSet, AccessClaimRoundTripsWithExplicitActions) {
  GrantSet grants;
  grants.add({ResourceType::repository, "cache/acme", Action::push});
  grants.add({ResourceType::repository, "acme/**", ActionSet::all()});
  grants.add({ResourceType::registry, "catalog", ActionSet::all()});
  auto access = json::parse(grants.access_claim_json());
  EXPECT_EQ(access[0]["actions"], json({"pull", "push"}));
  EXPECT_EQ(access[1]["actions"], json({"pull", "push", "delete"}));
  EXPECT_EQ(access[2], json({{"type", "registry"}, {"name", "catalog"}, {"actions", {"*"}}}));
  auto reparsed = from_claims({{"access", access}});
  EXPECT_EQ(reparsed.actions_for("cache/acme"), grants.actions_for("cache/acme"));
  EXPECT_TRUE(reparsed.allows_catalog());
}

TEST(GrantSet, FromScopesKeepsPatternsAndRejectsUnknownActions) {
  auto grants = GrantSet::from_scopes(scopes({"repository:cache/global/*:push,pull", "registry:catalog:*"}));
  ASSERT_TRUE(grants);
  EXPECT_TRUE(grants->may_push("cache/global/node"));
  EXPECT_TRUE(grants->allows_catalog());
  EXPECT_EQ(GrantSet::from_scopes(scopes({"repository:a:fly"})).error().code, "SCOPE_INVALID");
  EXPECT_EQ(GrantSet::from_scopes(scopes({"plugin:a:pull"})).error().code, "SCOPE_INVALID");
  EXPECT_EQ(GrantSet::from_scopes(scopes({"registry:other:*"})).error().code, "SCOPE_INVALID");
}

class Intersect : public ::testing::Test {
 protected:
  void SetUp() override {
    allowed.add({ResourceType::repository, "acme/**", ActionSet(Action::push) | Action::delete_});
    allowed.add({ResourceType::repository, "cache/global/*", Action::pull});
  }
  GrantSet allowed;
};

TEST_F(Intersect, GrantsWhatIsBothAskedAndAllowed) {
  auto granted = GrantSet::intersect(scopes({"repository:acme/app:pull,push"}), allowed);
  EXPECT_EQ(granted.actions_for("acme/app"), ActionSet(Action::pull) | Action::push);
  EXPECT_FALSE(granted.allows("acme/app", Action::delete_));
}

TEST_F(Intersect, PartialGrantDropsWhatIsNotAllowed) {
  auto granted = GrantSet::intersect(
      scopes({"repository:cache/global/node:pull,push", "repository:other/app:pull"}), allowed);
  EXPECT_EQ(granted.actions_for("cache/global/node"), ActionSet(Action::pull));
  EXPECT_FALSE(granted.may_pull("other/app"));
  ASSERT_EQ(granted.grants().size(), 1u);
  EXPECT_EQ(granted.grants()[0].name, "cache/global/node");
}

TEST_F(Intersect, NothingAllowedIsAnEmptyGrantNotAnError) {
  EXPECT_TRUE(GrantSet::intersect(scopes({"repository:other/app:push"}), allowed).empty());
}

TEST_F(Intersect, RequestedPatternsAreNeverGranted) {
  // "cache/global/**" would be wider than the allowed "cache/global/*".
  EXPECT_TRUE(GrantSet::intersect(scopes({"repository:cache/global/**:pull"}), allowed).empty());
  EXPECT_TRUE(GrantSet::intersect(scopes({"repository:**:pull"}), GrantSet::everything()).empty());
}

TEST_F(Intersect, CatalogOnlyWhenAllowed) {
  EXPECT_FALSE(GrantSet::intersect(scopes({"registry:catalog:*"}), allowed).allows_catalog());
  EXPECT_TRUE(GrantSet::intersect(scopes({"registry:catalog:*"}), GrantSet::everything()).allows_catalog());
}

TEST_F(Intersect, RepeatedScopesMerge) {
  auto granted = GrantSet::intersect(scopes({"repository:acme/app:pull", "repository:acme/app:delete"}), allowed);
  ASSERT_EQ(granted.grants().size(), 1u);
  EXPECT_EQ(granted.actions_for("acme/app"), ActionSet(Action::pull) | Action::delete_);
}

TEST(ActionSet, ParsesKnownNamesOnly) {
  EXPECT_EQ(*ActionSet::parse("*"), ActionSet::all());
  EXPECT_EQ(*ActionSet::parse("delete"), ActionSet(Action::delete_));
  EXPECT_EQ(ActionSet::parse("Pull").error().code, "ACTION_UNKNOWN");
}

}  // namespace
}  // namespace strata::auth
