#include "auth/scope.h"

#include <gtest/gtest.h>

namespace strata::auth {
namespace {

Scope scope(std::string type, std::string name, std::vector<std::string> actions) {
  return Scope{std::move(type), std::move(name), std::move(actions)};
}

TEST(ScopeGrammar, ParsesRepositoryScopeWithSeveralActions) {
  EXPECT_EQ(*parse_scope("repository:cache/acme:pull,push"),
            scope("repository", "cache/acme", {"pull", "push"}));
}

TEST(ScopeGrammar, ResourceClassIsDropped) {
  EXPECT_EQ(*parse_scope("repository(plugin):a/b:pull"), scope("repository", "a/b", {"pull"}));
}

TEST(ScopeGrammar, NameMayCarryHostAndPort) {
  EXPECT_EQ(*parse_scope("repository:host:5000/a:pull,push"),
            scope("repository", "host:5000/a", {"pull", "push"}));
  EXPECT_EQ(*parse_scope("repository:registry.example.com/team/app:pull"),
            scope("repository", "registry.example.com/team/app", {"pull"}));
}

TEST(ScopeGrammar, ParsesCatalogWildcard) {
  EXPECT_EQ(*parse_scope("registry:catalog:*"), scope("registry", "catalog", {"*"}));
}

TEST(ScopeGrammar, AllowsPatternsInNames) {
  EXPECT_EQ(parse_scope("repository:cache/global/*:pull")->name, "cache/global/*");
  EXPECT_EQ(parse_scope("repository:acme/**:push")->name, "acme/**");
}

TEST(ScopeGrammar, SeparatorsFollowTheComponentGrammar) {
  EXPECT_TRUE(parse_scope("repository:a/b_c.d__e---f:pull"));
  EXPECT_FALSE(parse_scope("repository:a/b..c:pull"));
  EXPECT_FALSE(parse_scope("repository:a/-b:pull"));
  EXPECT_FALSE(parse_scope("repository:a/b-:pull"));
}

TEST(ScopeGrammar, RejectsGarbage) {
  for (const char* bad : {"", "repository", "repository:a", "repository::pull", "repository:a:",
                          "repository:a:pull,", "repository:a:PULL", "Repository:a:pull",
                          "repository():a:pull", "repository(x:a:pull", ":a:pull",
                          "repository:A/b:pull", "repository:a//b:pull", "repository:/a:pull",
                          "repository:a/:pull", "repository:host:port/a:pull", "repository:a b:pull",
                          "repository:a:pu ll"}) {
    auto parsed = parse_scope(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, "SCOPE_INVALID");
  }
}

TEST(ScopeGrammar, ErrorNamesTheOffendingScope) {
  EXPECT_NE(parse_scope("repository:a").error().message.find("repository:a"), std::string::npos);
}

TEST(ScopeGrammar, SplitsSpaceSeparatedScopesAcrossParameters) {
  std::vector<std::string> params = {"repository:a/b:pull repository:c/d:push", "registry:catalog:*"};
  auto scopes = parse_scopes(params);
  ASSERT_TRUE(scopes);
  ASSERT_EQ(scopes->size(), 3u);
  EXPECT_EQ((*scopes)[0].name, "a/b");
  EXPECT_EQ((*scopes)[1].name, "c/d");
  EXPECT_EQ((*scopes)[2].type, "registry");
}

TEST(ScopeGrammar, OneBadScopeRejectsTheRequest) {
  std::vector<std::string> params = {"repository:a/b:pull garbage"};
  EXPECT_FALSE(parse_scopes(params));
}

TEST(ScopeGrammar, StrRoundTrips) {
  auto s = *parse_scope("repository:host:5000/a:pull,push");
  EXPECT_EQ(s.str(), "repository:host:5000/a:pull,push");
}

}  // namespace
}  // namespace strata::auth
