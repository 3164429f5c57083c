// POST/GET/DELETE /keys, called through the route table with the caller the
// authorization guard would have attached.
#include "auth/keys_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/caller.h"
#include "http_fixtures.h"
#include "support/temp_dir.h"

namespace strata::auth {
namespace {

using nlohmann::json;
using namespace testing;  // the HTTP fixtures
using strata::testing::TempDir;

class KeysApiTest : public ::testing::Test {
 protected:
  void SetUp() override { add_key_routes(router, *auth); }

  http::Response call(TestRequest& request, Principal caller) {
    auto match = router.match(request.request.method, request.request.path);
    EXPECT_NE(match.route, nullptr);
    EXPECT_EQ(match.route->credentials, http::Credentials::api);
    request.request.params = match.params;
    set_api_caller(request.request, std::move(caller));
    return match.route->handler(request.request);
  }

  http::Response create(std::string body, Principal caller = Principal::operator_principal()) {
    TestRequest request("POST", "/keys", {}, std::move(body));
    return call(request, std::move(caller));
  }

  TempDir dir;
  std::unique_ptr<AuthService> auth = AuthService::open(dir.path(), {}).value();
  http::Router router;
};

TEST_F(KeysApiTest, OperatorCreatesTenantKeyThatAuthenticates) {
  auto response = create(R"({"role":"tenant","tenant":"acme"})");
  ASSERT_EQ(response.status, 201) << body_of(response);
  auto body = json::parse(body_of(response));
  EXPECT_EQ(body["role"], "tenant");
  EXPECT_EQ(body["tenant"], "acme");
  auto principal = auth->api_keys().authenticate(body["key"].get<std::string>());
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->tenant, "acme");
  EXPECT_EQ(principal->key_id, body["id"]);
}

TEST_F(KeysApiTest, TenantsMayNotManageKeys) {
  auto tenant = Principal::tenant_principal("acme").value();
  EXPECT_EQ(create(R"({"role":"operator"})", tenant).status, 403);
  TestRequest list("GET", "/keys");
  EXPECT_EQ(call(list, tenant).status, 403);
}

TEST_F(KeysApiTest, InvalidRequestsAreBadRequest) {
  EXPECT_EQ(create("not json").status, 400);
  EXPECT_EQ(create(R"({"role":"admin"})").status, 400);
  EXPECT_EQ(create(R"({"role":"tenant","tenant":"global"})").status, 400);
  EXPECT_EQ(create(R"({"role":"tenant"})").status, 400);
  auto response = create(R"({"role":"operator","tenant":"acme"})");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(json::parse(body_of(response))["error"]["code"], "TENANT_INVALID");
}

TEST_F(KeysApiTest, ListShowsKeysWithoutSecrets) {
  auto created = json::parse(body_of(create(R"({"role":"tenant","tenant":"acme"})")));
  TestRequest list("GET", "/keys");
  auto response = call(list, Principal::operator_principal());
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(body_of(response).find(created["key"].get<std::string>()), std::string::npos);
  auto keys = json::parse(body_of(response))["keys"];
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["id"], created["id"]);
  EXPECT_EQ(keys[0]["role"], "tenant");
  EXPECT_EQ(keys[0]["tenant"], "acme");
  EXPECT_EQ(keys[0]["revoked"], false);
  EXPECT_TRUE(keys[0]["created_at"].is_string());
}

TEST_F(KeysApiTest, RevokedKeyStopsAuthenticating) {
  auto created = json::parse(body_of(create(R"({"role":"tenant","tenant":"acme"})")));
  TestRequest revoke("DELETE", "/keys/" + created["id"].get<std::string>());
  EXPECT_EQ(call(revoke, Principal::operator_principal()).status, 204);
  EXPECT_FALSE(auth->api_keys().authenticate(created["key"].get<std::string>()));
}

TEST_F(KeysApiTest, RevokingAnUnknownKeyIsNotFound) {
  TestRequest revoke("DELETE", "/keys/nosuchid");
  auto response = call(revoke, Principal::operator_principal());
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(json::parse(body_of(response))["error"]["code"], "KEY_UNKNOWN");
}

}  // namespace
}  // namespace strata::auth
