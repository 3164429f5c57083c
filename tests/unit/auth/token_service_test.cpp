#include "auth/token_service.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/jwt.h"
#include "support/temp_dir.h"

namespace strata::auth {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::int64_t kStart = 1'700'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KeySet keys;
    ASSERT_TRUE(keys.add(*Key::hs256("hs-1", kSecret)));
    ASSERT_TRUE(keys.add(*Key::es256_generate("es-1")));
    service = make(std::move(keys), "hs-1", "strata");
  }

  std::unique_ptr<TokenService> make(KeySet keys, std::string_view kid, std::string issuer) {
    TokenServiceOptions options;
    options.issuer = std::move(issuer);
    options.clock = [this] { return now; };
    return TokenService::create(std::move(keys), kid, *revocations, std::move(options)).value();
  }

  GrantSet acme_grants() {
    GrantSet grants;
    grants.add({ResourceType::repository, "cache/acme", ActionSet(Action::push)});
    grants.add({ResourceType::repository, "cache/global/*", Action::pull});
    return grants;
  }

  strata::testing::TempDir dir;
  std::unique_ptr<RevocationList> revocations = RevocationList::open(dir.path()).value();
  std::int64_t now = kStart;
  std::unique_ptr<TokenService> service;
};

TEST_F(TokenServiceTest, RegistryTokenCarriesItsGrants) {
  auto minted = service->mint_registry_token("build:b1", acme_grants(), 30min);
  ASSERT_TRUE(minted) << minted.error().message;
  EXPECT_EQ(minted->expires_at, kStart + 1800);
  auto access = service->verify_registry_token(minted->token);
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_EQ((*access)->subject, "build:b1");
  EXPECT_EQ((*access)->jwt_id, minted->jwt_id);
  EXPECT_TRUE((*access)->grants.may_push("cache/acme"));
  EXPECT_TRUE((*access)->grants.may_pull("cache/global/node"));
  EXPECT_FALSE((*access)->grants.may_push("cache/global/node"));
}

TEST_F(TokenServiceTest, ApiTokenCarriesItsPrincipal) {
  auto minted = service->mint_api_token(Role::tenant, "acme", 1h);
  ASSERT_TRUE(minted);
  auto identity = service->verify_api_token(minted->token);
  ASSERT_TRUE(identity) << identity.error().message;
  EXPECT_EQ((*identity)->principal.role, Role::tenant);
  EXPECT_EQ((*identity)->principal.tenant, "acme");
  EXPECT_TRUE((*service->verify_api_token(service->mint_api_token(Role::operator_, "", 1h)->token))
                  ->principal.is_operator());
}

TEST_F(TokenServiceTest, ApiTokenIsRefusedAtTheRegistry) {
  auto minted = service->mint_api_token(Role::operator_, "", 1h).value();
  EXPECT_EQ(service->verify_registry_token(minted.token).error().code, "TOKEN_AUDIENCE");
}

TEST_F(TokenServiceTest, RegistryTokenIsRefusedAtTheApi) {
  auto minted = service->mint_registry_token("operator", GrantSet::everything(), 1h).value();
  EXPECT_EQ(service->verify_api_token(minted.token).error().code, "TOKEN_AUDIENCE");
}

TEST_F(TokenServiceTest, AudienceIsCheckedEvenWhenTheOtherKindIsCached) {
  auto minted = service->mint_registry_token("operator", GrantSet::everything(), 1h).value();
  ASSERT_TRUE(service->verify_registry_token(minted.token));
  EXPECT_EQ(service->verify_api_token(minted.token).error().code, "TOKEN_AUDIENCE");
}

TEST_F(TokenServiceTest, RevokedTokenIsRefusedEvenAfterItWasCached) {
  auto minted = service->mint_registry_token("build:b1", acme_grants(), 30min).value();
  ASSERT_TRUE(service->verify_registry_token(minted.token));
  ASSERT_TRUE(revocations->revoke(minted.jwt_id, minted.expires_at));
  EXPECT_EQ(service->verify_registry_token(minted.token).error().code, "TOKEN_REVOKED");
}

TEST_F(TokenServiceTest, RevokedTokenIsRefusedOnFirstSight) {
  auto minted = service->mint_api_token(Role::tenant, "acme", 1h).value();
  ASSERT_TRUE(revocations->revoke(minted.jwt_id, minted.expires_at));
  EXPECT_EQ(service->verify_api_token(minted.token).error().code, "TOKEN_REVOKED");
}

TEST_F(TokenServiceTest, CachedTokenStillExpires) {
  auto minted = service->mint_registry_token("build:b1", acme_grants(), 60s).value();
  ASSERT_TRUE(service->verify_registry_token(minted.token));
  now = kStart + 60 + 60;
  EXPECT_TRUE(service->verify_registry_token(minted.token));
  now = kStart + 60 + 61;
  EXPECT_EQ(service->verify_registry_token(minted.token).error().code, "TOKEN_EXPIRED");
}

TEST_F(TokenServiceTest, CachedVerificationReturnsTheSameResult) {
  auto minted = service->mint_registry_token("build:b1", acme_grants(), 60s).value();
  auto first = service->verify_registry_token(minted.token).value();
  auto second = service->verify_registry_token(minted.token).value();
  EXPECT_EQ(first.get(), second.get());
}

TEST_F(TokenServiceTest, TokenFromAnotherIssuerIsRefused) {
  KeySet keys;
  ASSERT_TRUE(keys.add(*Key::hs256("hs-1", kSecret)));
  auto other = make(std::move(keys), "hs-1", "someone-else");
  auto minted = other->mint_registry_token("x", acme_grants(), 1h).value();
  EXPECT_EQ(service->verify_registry_token(minted.token).error().code, "TOKEN_ISSUER");
}

TEST_F(TokenServiceTest, AcceptsOlderClaimShapesSignedWithTheSharedSecret) {
  json claims = {{"iss", "strata"}, {"aud", "strata-registry"}, {"exp", kStart + 60},
                 {"repo_access", {{{"repo", "cache/global/node"}, {"scope", "pull"}},
                                  {{"repo", "cache/acme"}, {"scope", "push"}}}}};
  auto token = sign_jwt(*service->keys().find("hs-1"), claims.dump()).value();
  auto access = service->verify_registry_token(token);
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_TRUE((*access)->grants.may_push("cache/acme"));
  EXPECT_FALSE((*access)->grants.may_push("cache/global/node"));
}

TEST_F(TokenServiceTest, ApiTokenWithBadRoleClaimsIsRefused) {
  json claims = {{"iss", "strata"}, {"aud", "strata-api"}, {"exp", kStart + 60}, {"role", "tenant"},
                 {"tenant", "global"}};
  auto token = sign_jwt(*service->keys().find("hs-1"), claims.dump()).value();
  EXPECT_EQ(service->verify_api_token(token).error().code, "TOKEN_CLAIMS");
}

TEST_F(TokenServiceTest, Es256SigningServiceTokensVerify) {
  KeySet keys;
  ASSERT_TRUE(keys.add(*Key::es256_generate("es-9")));
  auto es_service = make(std::move(keys), "es-9", "strata");
  auto minted = es_service->mint_registry_token("x", acme_grants(), 1h).value();
  EXPECT_TRUE(es_service->verify_registry_token(minted.token));
  EXPECT_EQ(service->verify_registry_token(minted.token).error().code, "TOKEN_KEY_UNKNOWN");
}

TEST_F(TokenServiceTest, RefusesNonPositiveTtlAndBadTenants) {
  EXPECT_EQ(service->mint_registry_token("x", acme_grants(), 0s).error().code, "TTL_INVALID");
  EXPECT_EQ(service->mint_api_token(Role::tenant, "Bad", 1h).error().code, "TENANT_INVALID");
  EXPECT_EQ(service->mint_api_token(Role::operator_, "acme", 1h).error().code, "TENANT_INVALID");
}

TEST_F(TokenServiceTest, NeedsASigningKey) {
  KeySet keys;
  ASSERT_TRUE(keys.add(*Key::hs256("hs-1", kSecret)));
  EXPECT_EQ(TokenService::create(keys, "nope", *revocations).error().code, "KEY_INVALID");
  KeySet public_only;
  auto es = *Key::es256_generate("es-1");
  ASSERT_TRUE(public_only.add(*Key::es256_from_pem(*es.public_pem(), "es-1")));
  EXPECT_EQ(TokenService::create(public_only, "es-1", *revocations).error().code, "KEY_INVALID");
}

}  // namespace
}  // namespace strata::auth
