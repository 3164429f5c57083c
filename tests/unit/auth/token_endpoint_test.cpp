// GET/POST /v2/token and the JWKS route, called through the route table on
// in-memory requests: what is granted to whom, and how errors look.
#include "auth/token_endpoint.h"

#include <gtest/gtest.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "http_fixtures.h"
#include "support/temp_dir.h"

namespace strata::auth {
namespace {

using nlohmann::json;
using namespace testing;  // the HTTP fixtures
using strata::testing::TempDir;

class TokenEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override { open({}); }

  void open(AuthOptions options) {
    auth = AuthService::open(dir.path(), std::move(options)).value();
    router = http::Router();
    add_token_routes(router, *auth);
    acme_key = auth->api_keys().create(Role::tenant, "acme").value().secret;
    operator_key = auth->api_keys().create(Role::operator_, "").value().secret;
  }

  http::Response call(TestRequest& request) {
    auto match = router.match(request.request.method, request.request.path);
    EXPECT_NE(match.route, nullptr);
    EXPECT_EQ(match.route->credentials, http::Credentials::none);
    return match.route->handler(request.request);
  }

  // GET /v2/token with `scopes`, as `authorization` (none if empty).
  http::Response get_token(std::string authorization, std::initializer_list<const char*> scopes) {
    TestRequest request("GET", "/v2/token");
    request.query("service", "strata");
    for (const char* scope : scopes) request.query("scope", scope);
    if (!authorization.empty()) request.header("Authorization", authorization);
    return call(request);
  }

  http::Response post_token(std::string form, std::string content_type = "application/x-www-form-urlencoded") {
    TestRequest request("POST", "/v2/token", {}, std::move(form));
    request.header("Content-Type", content_type);
    return call(request);
  }

  // The grants of the token in a successful answer.
  GrantSet granted(const http::Response& response, const char* field = "token") {
    EXPECT_EQ(response.status, 200) << body_of(response);
    auto token = json::parse(body_of(response))[field].get<std::string>();
    auto access = auth->tokens().verify_registry_token(token);
    EXPECT_TRUE(access) << access.error().message;
    return access ? (*access)->grants : GrantSet{};
  }

  TempDir dir;
  std::unique_ptr<AuthService> auth;
  http::Router router;
  std::string acme_key;
  std::string operator_key;
};

TEST_F(TokenEndpointTest, GrantsTheIntersectionOfRequestAndPolicy) {
  auto grants = granted(get_token(basic("acme", acme_key),
                                  {"repository:acme/app:pull,push", "repository:other/app:pull,push"}));
  EXPECT_TRUE(grants.may_push("acme/app"));
  EXPECT_FALSE(grants.may_pull("other/app"));
  EXPECT_FALSE(grants.may_pull("acme/other"));  // only what was asked
}

TEST_F(TokenEndpointTest, PartialGrantIsNotAnError) {
  auto grants = granted(get_token(basic("acme", acme_key), {"repository:cache/global/node:pull,push"}));
  EXPECT_TRUE(grants.may_pull("cache/global/node"));
  EXPECT_FALSE(grants.may_push("cache/global/node"));
}

TEST_F(TokenEndpointTest, SeveralScopesInOneParameterAreAllConsidered) {
  auto grants = granted(get_token(basic("acme", acme_key), {"repository:acme/a:pull repository:acme/b:push"}));
  EXPECT_TRUE(grants.may_pull("acme/a"));
  EXPECT_TRUE(grants.may_push("acme/b"));
}

TEST_F(TokenEndpointTest, AnswerHasTheDockerFields) {
  auto response = get_token(basic("acme", acme_key), {"repository:acme/app:pull"});
  ASSERT_EQ(response.status, 200);
  auto body = json::parse(body_of(response));
  EXPECT_EQ(body["token"], body["access_token"]);
  EXPECT_GE(body["expires_in"].get<int>(), 60);
  EXPECT_TRUE(std::regex_match(body["issued_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
}

TEST_F(TokenEndpointTest, KeyMayBeTheUserNameWithAnEmptyPassword) {
  auto grants = granted(get_token(basic(acme_key, ""), {"repository:acme/app:pull"}));
  EXPECT_TRUE(grants.may_pull("acme/app"));
}

TEST_F(TokenEndpointTest, NothingRequestedGivesATokenWithEmptyAccess) {
  EXPECT_TRUE(granted(get_token(basic("acme", acme_key), {})).empty());
}

TEST_F(TokenEndpointTest, CatalogOnlyForTheOperator) {
  EXPECT_FALSE(granted(get_token(basic("acme", acme_key), {"registry:catalog:*"})).allows_catalog());
  EXPECT_TRUE(granted(get_token(basic("op", operator_key), {"registry:catalog:*"})).allows_catalog());
}

TEST_F(TokenEndpointTest, PluginResourceClassMeansRepository) {
  auto grants = granted(get_token(basic("acme", acme_key), {"repository(plugin):acme/app:pull"}));
  EXPECT_TRUE(grants.may_pull("acme/app"));
}

TEST_F(TokenEndpointTest, AnonymousGetsNothingByDefault) {
  EXPECT_TRUE(granted(get_token("", {"repository:library/alpine:pull"})).empty());
}

TEST_F(TokenEndpointTest, AnonymousGetsOnlyPullOnConfiguredNamespaces) {
  AuthOptions options;
  options.anonymous_pull = {"public/**"};
  open(options);
  auto grants = granted(get_token("", {"repository:public/tools/jq:pull,push", "repository:acme/app:pull"}));
  EXPECT_TRUE(grants.may_pull("public/tools/jq"));
  EXPECT_FALSE(grants.may_push("public/tools/jq"));
  EXPECT_FALSE(grants.may_pull("acme/app"));
}

TEST_F(TokenEndpointTest, WrongKeyIsUnauthorizedWithBasicChallenge) {
  auto response = get_token(basic("acme", "sk_wrong"), {"repository:acme/app:pull"});
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(header_of(response, "WWW-Authenticate"), "Basic realm=\"strata\"");
  EXPECT_EQ(json::parse(body_of(response))["error"], "invalid_grant");
}

TEST_F(TokenEndpointTest, RevokedKeyIsUnauthorized) {
  auto key = auth->api_keys().create(Role::tenant, "acme").value();
  ASSERT_TRUE(auth->api_keys().revoke(key.info.id));
  EXPECT_EQ(get_token(basic("acme", key.secret), {}).status, 401);
}

TEST_F(TokenEndpointTest, MalformedScopeIsBadRequest) {
  auto response = get_token(basic("acme", acme_key), {"repository:acme/app"});
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(json::parse(body_of(response))["error"], "invalid_scope");
  EXPECT_EQ(get_token(basic("acme", acme_key), {"repository:Acme/App:pull"}).status, 400);
}

TEST_F(TokenEndpointTest, OAuthPasswordGrantAnswersWithGrantedScope) {
  auto response = post_token("grant_type=password&username=acme&password=" + acme_key +
                             "&service=strata&client_id=test"
                             "&scope=repository%3Aacme%2Fapp%3Apush+repository%3Aother%2Fapp%3Apull");
  auto grants = granted(response, "access_token");
  EXPECT_TRUE(grants.may_push("acme/app"));
  EXPECT_FALSE(grants.may_pull("other/app"));
  auto body = json::parse(body_of(response));
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["scope"], "repository:acme/app:pull,push");
  EXPECT_GE(body["expires_in"].get<int>(), 60);
  EXPECT_TRUE(body.contains("issued_at"));
}

TEST_F(TokenEndpointTest, OAuthOtherGrantTypesAreUnsupported) {
  auto response = post_token("grant_type=refresh_token&refresh_token=x&service=strata");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(json::parse(body_of(response))["error"], "unsupported_grant_type");
}

TEST_F(TokenEndpointTest, OAuthWrongKeyIsUnauthorized) {
  auto response = post_token("grant_type=password&username=acme&password=sk_nope&scope=");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(json::parse(body_of(response))["error"], "invalid_grant");
}

TEST_F(TokenEndpointTest, OAuthMalformedScopeIsInvalidScope) {
  auto response = post_token("grant_type=password&username=acme&password=" + acme_key + "&scope=nonsense");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(json::parse(body_of(response))["error"], "invalid_scope");
}

TEST_F(TokenEndpointTest, OAuthNeedsAFormBody) {
  EXPECT_EQ(post_token("{}", "application/json").status, 400);
}

TEST_F(TokenEndpointTest, JwksListsThePublicEsKeyOnly) {
  TestRequest request("GET", "/.well-known/jwks.json");
  auto response = call(request);
  ASSERT_EQ(response.status, 200);
  auto keys = json::parse(body_of(response))["keys"];
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["kty"], "EC");
  EXPECT_FALSE(keys[0].contains("d"));
}

}  // namespace
}  // namespace strata::auth
