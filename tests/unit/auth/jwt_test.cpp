#include "auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"

namespace strata::auth {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";

std::string hmac(std::string_view secret, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(keys.add(*Key::hs256("hs-1", kSecret)));
    ASSERT_TRUE(keys.add(es));
  }

  static json claims() {
    return {{"iss", "strata"}, {"sub", "tenant:acme"}, {"aud", "strata-registry"},
            {"exp", kNow + 300}, {"nbf", kNow}, {"iat", kNow}, {"jti", "id-1"}};
  }
  static VerifyOptions options() { return {"strata", "strata-registry", kNow}; }

  // Signs arbitrary header and payload text, bypassing sign_jwt's checks.
  static std::string craft(const json& header, std::string_view payload, const Key& key) {
    std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload);
    return input + "." + base64url_encode(*key.sign(input));
  }
  static std::string craft_hmac(const json& header, std::string_view payload, std::string_view secret) {
    std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload);
    return input + "." + base64url_encode(hmac(secret, input));
  }
  std::string hs_token(const json& payload) { return *sign_jwt(*keys.find("hs-1"), payload.dump()); }
  std::string code_of(std::string_view token) {
    auto r = verify_jwt(token, keys, options());
    return r ? "OK" : r.error().code;
  }

  Key es = *Key::es256_generate("es-1");
  KeySet keys;
};

TEST_F(JwtTest, Hs256TokenVerifiesAndReturnsTypedClaims) {
  auto verified = verify_jwt(hs_token(claims()), keys, options());
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->kid, "hs-1");
  EXPECT_EQ(verified->algorithm, JwsAlgorithm::HS256);
  EXPECT_EQ(verified->claims.issuer, "strata");
  EXPECT_EQ(verified->claims.subject, "tenant:acme");
  EXPECT_EQ(verified->claims.audience, std::vector<std::string>{"strata-registry"});
  EXPECT_EQ(verified->claims.expires_at, kNow + 300);
  EXPECT_EQ(verified->claims.not_before, kNow);
  EXPECT_EQ(verified->claims.jwt_id, "id-1");
  EXPECT_EQ(json::parse(verified->payload_json), claims());
}

TEST_F(JwtTest, Es256TokenVerifiesWithThePublicKeyAlone) {
  auto token = *sign_jwt(es, claims().dump());
  KeySet public_only;
  ASSERT_TRUE(public_only.add(*Key::es256_from_pem(*es.public_pem(), "es-1")));
  EXPECT_FALSE(public_only.find("es-1")->can_sign());
  auto verified = verify_jwt(token, public_only, options());
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->algorithm, JwsAlgorithm::ES256);
}

TEST_F(JwtTest, Es256SignatureIsRawRAndSOf64Bytes) {
  auto token = *sign_jwt(es, claims().dump());
  auto signature = base64url_decode(token.substr(token.rfind('.') + 1));
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->size(), 64u);
}

TEST_F(JwtTest, RejectsAlgNoneInAnySpelling) {
  for (const char* none : {"none", "None", "NONE"}) {
    json header = {{"alg", none}, {"kid", "hs-1"}};
    std::string unsigned_token = base64url_encode(header.dump()) + "." + base64url_encode(claims().dump()) + ".";
    EXPECT_NE(code_of(unsigned_token), "OK") << none;
    EXPECT_EQ(code_of(unsigned_token + "c2ln"), "TOKEN_ALGORITHM") << none;
  }
}

TEST_F(JwtTest, RejectsEsPublicKeyPemUsedAsHmacSecret) {
  json header = {{"alg", "HS256"}, {"kid", "es-1"}};
  EXPECT_EQ(code_of(craft_hmac(header, claims().dump(), *es.public_pem())), "TOKEN_ALGORITHM");
}

TEST_F(JwtTest, RejectsEsPublicPointBytesUsedAsHmacSecret) {
  json header = {{"alg", "HS256"}, {"kid", "es-1"}};
  EXPECT_EQ(code_of(craft_hmac(header, claims().dump(), *es.public_point())), "TOKEN_ALGORITHM");
}

TEST_F(JwtTest, RefusesToMakeAnHmacKeyFromAPublicKey) {
  EXPECT_EQ(Key::hs256("bad", *es.public_pem()).error().code, "KEY_INVALID");
}

TEST_F(JwtTest, RefusesShortHmacSecrets) {
  EXPECT_EQ(Key::hs256("short", "too-short").error().code, "KEY_INVALID");
}

TEST_F(JwtTest, RejectsEs256TokenNamingAnHmacKey) {
  json header = {{"alg", "ES256"}, {"kid", "hs-1"}};
  EXPECT_EQ(code_of(craft(header, claims().dump(), es)), "TOKEN_ALGORITHM");
}

TEST_F(JwtTest, RejectsAlgorithmsOutsideThePinnedList) {
  for (const char* alg : {"HS512", "RS256", "PS256", "ES384", ""}) {
    json header = {{"alg", alg}, {"kid", "hs-1"}};
    EXPECT_EQ(code_of(craft(header, claims().dump(), *keys.find("hs-1"))), "TOKEN_ALGORITHM") << alg;
  }
}

TEST_F(JwtTest, RejectsBadHmacSignature) {
  auto token = hs_token(claims());
  token.back() = token.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(code_of(token), "TOKEN_SIGNATURE");
}

TEST_F(JwtTest, RejectsHmacSignedWithAnotherSecret) {
  json header = {{"alg", "HS256"}, {"kid", "hs-1"}};
  EXPECT_EQ(code_of(craft_hmac(header, claims().dump(), "another-secret-of-32-bytes-long!")), "TOKEN_SIGNATURE");
}

TEST_F(JwtTest, RejectsTamperedPayload) {
  auto token = hs_token(claims());
  auto parts_end = token.rfind('.');
  auto changed = claims();
  changed["sub"] = "operator";
  std::string forged = token.substr(0, token.find('.') + 1) + base64url_encode(changed.dump()) +
                       token.substr(parts_end);
  EXPECT_EQ(code_of(forged), "TOKEN_SIGNATURE");
}

TEST_F(JwtTest, RejectsEs256SignatureOfWrongLengthOrFromAnotherKey) {
  auto token = *sign_jwt(es, claims().dump());
  auto input = token.substr(0, token.rfind('.'));
  EXPECT_EQ(code_of(input + "." + base64url_encode(std::string(63, '\1'))), "TOKEN_SIGNATURE");
  EXPECT_EQ(code_of(input + "." + base64url_encode(std::string(64, '\0'))), "TOKEN_SIGNATURE");
  auto other = *Key::es256_generate("es-1");
  EXPECT_EQ(code_of(*sign_jwt(other, claims().dump())), "TOKEN_SIGNATURE");
}

TEST_F(JwtTest, ExpiryHonoursSixtySecondLeewayExactly) {
  auto c = claims();
  c["exp"] = kNow - 60;
  EXPECT_EQ(code_of(hs_token(c)), "OK");
  c["exp"] = kNow - 61;
  EXPECT_EQ(code_of(hs_token(c)), "TOKEN_EXPIRED");
}

TEST_F(JwtTest, NotBeforeHonoursSixtySecondLeewayExactly) {
  auto c = claims();
  c["nbf"] = kNow + 60;
  EXPECT_EQ(code_of(hs_token(c)), "OK");
  c["nbf"] = kNow + 61;
  EXPECT_EQ(code_of(hs_token(c)), "TOKEN_NOT_YET_VALID");
}

TEST_F(JwtTest, RejectsTokenIssuedInTheFuture) {
  auto c = claims();
  c["iat"] = kNow + 61;
  EXPECT_EQ(code_of(hs_token(c)), "TOKEN_NOT_YET_VALID");
}

TEST_F(JwtTest, AcceptsFractionalNumericDates) {
  auto c = claims();
  c["exp"] = static_cast<double>(kNow) + 10.5;
  auto verified = verify_jwt(hs_token(c), keys, options());
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->claims.expires_at, kNow + 10);
}

TEST_F(JwtTest, RejectsWrongOrMissingIssuer) {
  auto c = claims();
  c["iss"] = "someone-else";
  EXPECT_EQ(code_of(hs_token(c)), "TOKEN_ISSUER");
  c.erase("iss");
  EXPECT_EQ(code_of(hs_token(c)), "TOKEN_CLAIMS");
}

TEST_F(JwtTest, AudienceMayBeStringOrArrayButMustContainExpected) {
  auto c = claims();
  c["aud"] = {"other", "strata-registry"};
  EXPECT_EQ(code_of(hs_token(c)), "OK");
  c["aud"] = {"strata-api"};
  EXPECT_EQ(code_of(hs_token(c)), "TOKEN_AUDIENCE");
  c["aud"] = "strata-api";
  EXPECT_EQ(code_of(hs_token(c)), "TOKEN_AUDIENCE");
  c.erase("aud");
  EXPECT_EQ(code_of(hs_token(c)), "TOKEN_CLAIMS");
}

TEST_F(JwtTest, RejectsOversizedToken) {
  auto c = claims();
  c["padding"] = std::string(9000, 'x');
  EXPECT_EQ(code_of(hs_token(c)), "TOKEN_TOO_LARGE");
}

TEST_F(JwtTest, RejectsWrongNumberOfParts) {
  auto token = hs_token(claims());
  EXPECT_EQ(code_of(token.substr(0, token.rfind('.'))), "TOKEN_MALFORMED");
  EXPECT_EQ(code_of(token + ".c2ln"), "TOKEN_MALFORMED");
  EXPECT_EQ(code_of("onlyonepart"), "TOKEN_MALFORMED");
  EXPECT_EQ(code_of(""), "TOKEN_MALFORMED");
  EXPECT_EQ(code_of(".."), "TOKEN_MALFORMED");
}

TEST_F(JwtTest, RejectsInvalidBase64InAnyPart) {
  auto token = hs_token(claims());
  EXPECT_EQ(code_of("e30=" + token.substr(token.find('.'))), "TOKEN_MALFORMED");
  auto first = token.find('.');
  EXPECT_EQ(code_of(token.substr(0, first) + ".$$$" + token.substr(token.rfind('.'))), "TOKEN_MALFORMED");
  EXPECT_EQ(code_of(token + "="), "TOKEN_MALFORMED");
}

TEST_F(JwtTest, RejectsHeaderOrPayloadThatIsNotAJsonObject) {
  const Key& key = *keys.find("hs-1");
  std::string input = base64url_encode("[1]") + "." + base64url_encode(claims().dump());
  EXPECT_EQ(code_of(input + "." + base64url_encode(*key.sign(input))), "TOKEN_MALFORMED");
  json header = {{"alg", "HS256"}, {"kid", "hs-1"}};
  EXPECT_EQ(code_of(craft(header, "[]", key)), "TOKEN_MALFORMED");
  EXPECT_EQ(code_of(craft(header, "\"text\"", key)), "TOKEN_MALFORMED");
  EXPECT_EQ(code_of(craft(header, "{\"iss\":", key)), "TOKEN_MALFORMED");
}

TEST_F(JwtTest, RejectsDuplicateClaimNames) {
  json header = {{"alg", "HS256"}, {"kid", "hs-1"}};
  std::string payload = claims().dump();
  payload.insert(1, R"("sub":"operator",)");
  EXPECT_EQ(code_of(craft(header, payload, *keys.find("hs-1"))), "TOKEN_MALFORMED");
}

TEST_F(JwtTest, RejectsRegisteredClaimsOfTheWrongType) {
  for (auto [name, value] : std::vector<std::pair<std::string, json>>{
           {"exp", "tomorrow"}, {"nbf", true}, {"iat", json::array()}, {"sub", 7},
           {"jti", json::object()}, {"iss", 1}, {"aud", {1, 2}}}) {
    auto c = claims();
    c[name] = value;
    EXPECT_EQ(code_of(hs_token(c)), "TOKEN_CLAIMS") << name;
  }
}

TEST_F(JwtTest, RequiresExpiry) {
  auto c = claims();
  c.erase("exp");
  EXPECT_EQ(code_of(hs_token(c)), "TOKEN_CLAIMS");
}

TEST_F(JwtTest, RejectsUnknownKid) {
  json header = {{"alg", "HS256"}, {"kid", "nobody"}};
  EXPECT_EQ(code_of(craft(header, claims().dump(), *keys.find("hs-1"))), "TOKEN_KEY_UNKNOWN");
}

TEST_F(JwtTest, TokenWithoutKidNeedsADefaultKey) {
  json header = {{"alg", "HS256"}};
  auto token = craft(header, claims().dump(), *keys.find("hs-1"));
  EXPECT_EQ(code_of(token), "TOKEN_KEY_UNKNOWN");
  ASSERT_TRUE(keys.set_default_kid("hs-1"));
  EXPECT_EQ(code_of(token), "OK");
}

TEST_F(JwtTest, RejectsCriticalHeaderExtensions) {
  json header = {{"alg", "HS256"}, {"kid", "hs-1"}, {"crit", {"exp"}}};
  EXPECT_EQ(code_of(craft(header, claims().dump(), *keys.find("hs-1"))), "TOKEN_MALFORMED");
}

TEST_F(JwtTest, JwksListsPublicEsKeysOnly) {
  auto jwks = json::parse(keys.jwks_json());
  ASSERT_EQ(jwks["keys"].size(), 1u);
  const auto& jwk = jwks["keys"][0];
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], "P-256");
  EXPECT_EQ(jwk["kid"], "es-1");
  EXPECT_EQ(jwk["alg"], "ES256");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(*base64url_decode(jwk["x"].get<std::string>()), es.public_point()->substr(1, 32));
  EXPECT_EQ(*base64url_decode(jwk["y"].get<std::string>()), es.public_point()->substr(33, 32));
  EXPECT_FALSE(jwk.contains("d"));
}

TEST_F(JwtTest, DerivedEsKeyIdIsStableAcrossReload) {
  auto key = Key::es256_generate();
  ASSERT_TRUE(key);
  EXPECT_EQ(key->kid().size(), 43u);
  auto reloaded = Key::es256_from_pem(*key->private_pem());
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->kid(), key->kid());
}

TEST_F(JwtTest, KeySetRefusesDuplicateKid) {
  EXPECT_EQ(keys.add(*Key::hs256("hs-1", kSecret)).error().code, "KEY_INVALID");
}

}  // namespace
}  // namespace strata::auth
