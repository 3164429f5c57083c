// The authorization guard, called directly on in-memory requests the way the
// dispatcher calls it: challenges, token kinds, scopes and what it records.
#include "auth/authorization_guard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/caller.h"
#include "auth/scope.h"
#include "http_fixtures.h"
#include "support/temp_dir.h"

namespace strata::auth {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using namespace testing;  // the HTTP fixtures
using strata::testing::TempDir;

constexpr std::string_view kRealm = "Bearer realm=\"http://registry.test/v2/token\",service=\"strata\"";

http::Route route(std::string method, std::string pattern, http::Action action,
                  http::Credentials credentials = http::Credentials::registry) {
  return {std::move(method), std::move(pattern), "test_route", action,
          [](http::Request&) { return http::Response::empty(200); }, credentials};
}

const http::Route kManifestGet = route("GET", "/v2/{name+}/manifests/{reference}", http::Action::pull);
const http::Route kUploadStart = route("POST", "/v2/{name+}/blobs/uploads/", http::Action::push);
const http::Route kManifestDelete = route("DELETE", "/v2/{name+}/manifests/{reference}", http::Action::del);
const http::Route kBase = route("GET", "/v2/", http::Action::none);
const http::Route kCatalog = route("GET", "/v2/_catalog", http::Action::catalog);
const http::Route kKeys = route("GET", "/keys", http::Action::none, http::Credentials::api);
const http::Route kHealth = route("GET", "/healthz", http::Action::none, http::Credentials::none);

std::string error_code(const http::Response& response) {
  return json::parse(body_of(response))["errors"][0]["code"];
}

class AuthorizationGuardTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuthService> open(AuthOptions options = {}) {
    return AuthService::open(dir.path(), std::move(options)).value();
  }

  std::string registry_token(std::initializer_list<const char*> scopes) {
    std::vector<Scope> parsed;
    for (const char* s : scopes) parsed.push_back(parse_scope(s).value());
    return auth->tokens().mint_registry_token("test", GrantSet::from_scopes(parsed).value(), 10min).value().token;
  }

  std::optional<http::Response> check(TestRequest& request, const http::Route& r) {
    return guard(request.request, r);
  }

  TestRequest manifest_get(std::string repository) {
    return TestRequest("GET", "/v2/" + repository + "/manifests/latest",
                       {{"name", repository}, {"reference", "latest"}});
  }

  // Whether a pull of acme/app with this Authorization is refused as invalid_token.
  bool refused_as_invalid_token(const std::string& authorization) {
    auto request = manifest_get("acme/app");
    request.header("Authorization", authorization);
    auto refused = check(request, kManifestGet);
    return refused && refused->status == 401 &&
           header_of(*refused, "WWW-Authenticate").ends_with(",error=\"invalid_token\"");
  }

  TempDir dir;
  std::unique_ptr<AuthService> auth = open();
  http::Metrics metrics;
  http::Guard guard = authorization_guard(*auth, "http://registry.test/", metrics);
};

TEST_F(AuthorizationGuardTest, MissingCredentialsGetChallengeNamingTheScope) {
  auto request = manifest_get("acme/app");
  auto refused = check(request, kManifestGet);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(header_of(*refused, "WWW-Authenticate"), std::string(kRealm) + ",scope=\"repository:acme/app:pull\"");
  EXPECT_EQ(error_code(*refused), "UNAUTHORIZED");
}

TEST_F(AuthorizationGuardTest, BaseEndpointChallengeHasNoScope) {
  TestRequest request("GET", "/v2/");
  auto refused = check(request, kBase);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(header_of(*refused, "WWW-Authenticate"), kRealm);
}

TEST_F(AuthorizationGuardTest, PushChallengeAsksForPullAndPush) {
  TestRequest request("POST", "/v2/acme/app/blobs/uploads/", {{"name", "acme/app"}});
  auto refused = check(request, kUploadStart);
  ASSERT_TRUE(refused);
  EXPECT_EQ(header_of(*refused, "WWW-Authenticate"), std::string(kRealm) + ",scope=\"repository:acme/app:pull,push\"");
}

TEST_F(AuthorizationGuardTest, AnyValidTokenOpensBaseEndpoint) {
  TestRequest request("GET", "/v2/");
  request.header("Authorization", "Bearer " + registry_token({}));
  EXPECT_FALSE(check(request, kBase));
}

TEST_F(AuthorizationGuardTest, GarbageTokenIsInvalidToken) {
  auto request = manifest_get("acme/app");
  request.header("Authorization", "Bearer not-a-token");
  auto refused = check(request, kManifestGet);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(header_of(*refused, "WWW-Authenticate"),
            std::string(kRealm) + ",scope=\"repository:acme/app:pull\",error=\"invalid_token\"");
  EXPECT_EQ(error_code(*refused), "UNAUTHORIZED");
}

TEST_F(AuthorizationGuardTest, TokenFromAnotherServersKeyIsInvalidToken) {
  TempDir other_dir;
  auto other = AuthService::open(other_dir.path(), {}).value();
  auto foreign = other->tokens().mint_registry_token("x", GrantSet::everything(), 10min).value().token;
  EXPECT_TRUE(refused_as_invalid_token("Bearer " + foreign));
}

TEST_F(AuthorizationGuardTest, RevokedTokenIsInvalidToken) {
  auto minted = auth->tokens().mint_registry_token("b1", GrantSet::everything(), 10min).value();
  ASSERT_TRUE(auth->revocations().revoke(minted.jwt_id, minted.expires_at));
  EXPECT_TRUE(refused_as_invalid_token("Bearer " + minted.token));
}

TEST_F(AuthorizationGuardTest, PullTokenCannotPushAndIsToldWhichScopeItNeeds) {
  TestRequest request("POST", "/v2/acme/app/blobs/uploads/", {{"name", "acme/app"}});
  request.header("Authorization", "Bearer " + registry_token({"repository:acme/app:pull"}));
  auto refused = check(request, kUploadStart);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(header_of(*refused, "WWW-Authenticate"),
            std::string(kRealm) + ",scope=\"repository:acme/app:pull,push\",error=\"insufficient_scope\"");
  EXPECT_EQ(error_code(*refused), "DENIED");
}

TEST_F(AuthorizationGuardTest, PushTokenMayPullAndPushAndIsAttachedToTheRequest) {
  auto token = registry_token({"repository:acme/**:push"});
  TestRequest push("POST", "/v2/acme/app/blobs/uploads/", {{"name", "acme/app"}});
  push.header("Authorization", "Bearer " + token);
  EXPECT_FALSE(check(push, kUploadStart));
  const auto* caller = registry_caller(push.request);
  ASSERT_NE(caller, nullptr);
  EXPECT_EQ(caller->subject, "test");
  EXPECT_TRUE(caller->grants.may_pull("acme/app"));
  EXPECT_FALSE(caller->grants.may_pull("other/app"));
  EXPECT_EQ(api_caller(push.request), nullptr);

  auto pull = manifest_get("acme/app");
  pull.header("Authorization", "Bearer " + token);
  EXPECT_FALSE(check(pull, kManifestGet));
}

TEST_F(AuthorizationGuardTest, PushTokenCannotDelete) {
  TestRequest request("DELETE", "/v2/acme/app/manifests/latest", {{"name", "acme/app"}, {"reference", "latest"}});
  request.header("Authorization", "Bearer " + registry_token({"repository:acme/app:push"}));
  auto refused = check(request, kManifestDelete);
  ASSERT_TRUE(refused);
  EXPECT_EQ(header_of(*refused, "WWW-Authenticate"),
            std::string(kRealm) + ",scope=\"repository:acme/app:delete\",error=\"insufficient_scope\"");
}

TEST_F(AuthorizationGuardTest, TokenForOneRepositoryCannotReadAnother) {
  auto request = manifest_get("cache/other");
  request.header("Authorization", "Bearer " + registry_token({"repository:cache/acme:push"}));
  auto refused = check(request, kManifestGet);
  ASSERT_TRUE(refused);
  EXPECT_EQ(error_code(*refused), "DENIED");
}

TEST_F(AuthorizationGuardTest, BasicWithTokenAsPasswordIsAccepted) {
  auto request = manifest_get("acme/app");
  request.header("Authorization", basic("buildkit", registry_token({"repository:acme/app:pull"})));
  EXPECT_FALSE(check(request, kManifestGet));
}

TEST_F(AuthorizationGuardTest, BasicWithTokenAsUserNameIsAccepted) {
  auto request = manifest_get("acme/app");
  request.header("Authorization", basic(registry_token({"repository:acme/app:pull"}), ""));
  EXPECT_FALSE(check(request, kManifestGet));
}

TEST_F(AuthorizationGuardTest, ApiKeyIsRefusedAtTheRegistry) {
  auto key = auth->api_keys().create(Role::operator_, "").value().secret;
  EXPECT_TRUE(refused_as_invalid_token("Bearer " + key));
  EXPECT_TRUE(refused_as_invalid_token(basic("operator", key)));
  EXPECT_TRUE(refused_as_invalid_token(basic(key, "")));
}

TEST_F(AuthorizationGuardTest, ApiTokenIsRefusedAtTheRegistry) {
  auto api_token = auth->tokens().mint_api_token(Role::operator_, "", 10min).value().token;
  EXPECT_TRUE(refused_as_invalid_token("Bearer " + api_token));
  EXPECT_TRUE(refused_as_invalid_token(basic("x", api_token)));
}

TEST_F(AuthorizationGuardTest, RegistryTokenIsRefusedAtTheApi) {
  TestRequest request("GET", "/keys");
  request.header("Authorization", "Bearer " + auth->tokens().mint_registry_token("x", GrantSet::everything(), 10min)->token);
  auto refused = check(request, kKeys);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(json::parse(body_of(*refused))["error"]["code"], "UNAUTHORIZED");
}

TEST_F(AuthorizationGuardTest, ApiTakesApiKeysAndApiTokens) {
  auto key = auth->api_keys().create(Role::tenant, "acme").value().secret;
  TestRequest with_key("GET", "/keys");
  with_key.header("Authorization", "Bearer " + key);
  EXPECT_FALSE(check(with_key, kKeys));
  ASSERT_NE(api_caller(with_key.request), nullptr);
  EXPECT_EQ(api_caller(with_key.request)->tenant, "acme");
  EXPECT_EQ(registry_caller(with_key.request), nullptr);

  TestRequest with_token("GET", "/keys");
  with_token.header("Authorization", "Bearer " + auth->tokens().mint_api_token(Role::operator_, "", 10min)->token);
  EXPECT_FALSE(check(with_token, kKeys));
  ASSERT_NE(api_caller(with_token.request), nullptr);
  EXPECT_TRUE(api_caller(with_token.request)->is_operator());
}

TEST_F(AuthorizationGuardTest, ApiWithoutCredentialsIsUnauthorized) {
  TestRequest request("GET", "/keys");
  auto refused = check(request, kKeys);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
}

TEST_F(AuthorizationGuardTest, CatalogNeedsTheCatalogGrant) {
  TestRequest request("GET", "/v2/_catalog");
  request.header("Authorization", "Bearer " + registry_token({"repository:**:pull"}));
  auto refused = check(request, kCatalog);
  ASSERT_TRUE(refused);
  EXPECT_EQ(header_of(*refused, "WWW-Authenticate"),
            std::string(kRealm) + ",scope=\"registry:catalog:*\",error=\"insufficient_scope\"");

  TestRequest allowed("GET", "/v2/_catalog");
  allowed.header("Authorization", "Bearer " + registry_token({"registry:catalog:*"}));
  EXPECT_FALSE(check(allowed, kCatalog));
}

TEST_F(AuthorizationGuardTest, AnonymousPullNamespacesNeedNoCredentialsForPullOnly) {
  AuthOptions options;
  options.anonymous_pull = {"public/**"};
  TempDir anonymous_dir;
  auto anonymous_auth = AuthService::open(anonymous_dir.path(), options).value();
  auto anonymous_guard = authorization_guard(*anonymous_auth, "http://registry.test", metrics);

  auto pull = manifest_get("public/tools/jq");
  EXPECT_FALSE(anonymous_guard(pull.request, kManifestGet));
  ASSERT_NE(registry_caller(pull.request), nullptr);
  EXPECT_EQ(registry_caller(pull.request)->subject, "anonymous");

  TestRequest push("POST", "/v2/public/tools/jq/blobs/uploads/", {{"name", "public/tools/jq"}});
  EXPECT_TRUE(anonymous_guard(push.request, kUploadStart));
  auto elsewhere = manifest_get("acme/app");
  EXPECT_TRUE(anonymous_guard(elsewhere.request, kManifestGet));
}

TEST_F(AuthorizationGuardTest, RoutesWithoutCredentialsPass) {
  TestRequest request("GET", "/healthz");
  EXPECT_FALSE(check(request, kHealth));
}

TEST_F(AuthorizationGuardTest, DenialsAreCountedByReason) {
  auto missing = manifest_get("acme/app");
  check(missing, kManifestGet);
  auto invalid = manifest_get("acme/app");
  invalid.header("Authorization", "Bearer nope");
  check(invalid, kManifestGet);
  auto scope = manifest_get("other/app");
  scope.header("Authorization", "Bearer " + registry_token({"repository:acme/app:pull"}));
  check(scope, kManifestGet);

  auto text = metrics.render();
  EXPECT_NE(text.find("strata_auth_denied_total{reason=\"missing\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("strata_auth_denied_total{reason=\"invalid\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("strata_auth_denied_total{reason=\"scope\"} 1"), std::string::npos) << text;
}

}  // namespace
}  // namespace strata::auth
