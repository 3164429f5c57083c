// Keys on OpenSSL 3's EVP interface. ES256 signatures are converted between
// JWS's fixed-size R||S and the DER ECDSA-Sig-Value OpenSSL produces.
#include "auth/signing_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "auth/secrets.h"

namespace strata::auth {
namespace {

constexpr std::size_t kMinHmacSecret = 32;
constexpr std::size_t kCoordinate = 32;  // P-256 field element size

// unique_ptr for OpenSSL objects, freed with their own free function.
template <class T, auto Free>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
template <class T, auto Free>
using Owned = std::unique_ptr<T, Freer<T, Free>>;
using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using BnPtr = Owned<BIGNUM, BN_free>;
using BioPtr = Owned<BIO, BIO_free>;
using MdCtxPtr = Owned<EVP_MD_CTX, EVP_MD_CTX_free>;
using SigPtr = Owned<ECDSA_SIG, ECDSA_SIG_free>;
using MacCtxPtr = Owned<EVP_MAC_CTX, EVP_MAC_CTX_free>;

std::unexpected<Error> key_error(std::string message) {
  return fail("KEY_INVALID", std::move(message));
}

bool is_p256(EVP_PKEY* pkey) {
  if (!EVP_PKEY_is_a(pkey, "EC")) return false;
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1)
    return false;
  return std::string_view(group, len) == "prime256v1";
}

std::string hmac_sha256(std::string_view secret, std::string_view data) {
  // Fetching is the expensive part; the fetched EVP_MAC is shareable.
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  MacCtxPtr ctx(EVP_MAC_CTX_new(mac));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  std::string out(EVP_MAX_MD_SIZE, '\0');
  std::size_t len = 0;
  if (!ctx ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                   params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, out.size()) != 1)
    return {};
  out.resize(len);
  return out;
}

// DER ECDSA-Sig-Value -> 64-byte R||S.
std::string der_to_raw(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return {};
  std::string raw(2 * kCoordinate, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, kCoordinate) != kCoordinate ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + kCoordinate, kCoordinate) != kCoordinate)
    return {};
  return raw;
}

// 64-byte R||S -> DER ECDSA-Sig-Value; empty on a malformed signature.
std::string raw_to_der(std::string_view raw) {
  if (raw.size() != 2 * kCoordinate) return {};
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  BnPtr r(BN_bin2bn(in, kCoordinate, nullptr));
  BnPtr s(BN_bin2bn(in + kCoordinate, kCoordinate, nullptr));
  SigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return {};
  r.release();  // owned by sig now
  s.release();
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<std::string> coordinate(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return key_error("EC key has no public point");
  BnPtr owned(bn);
  std::string out(kCoordinate, '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), kCoordinate) != kCoordinate)
    return key_error("EC coordinate does not fit P-256");
  return out;
}

bool looks_like_public_key(std::string_view secret) {
  if (secret.find("-----BEGIN") != std::string_view::npos) return true;
  const auto* p = reinterpret_cast<const unsigned char*>(secret.data());
  PkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(secret.size())));
  return pkey != nullptr;
}

}  // namespace

std::string_view algorithm_name(JwsAlgorithm algorithm) {
  return algorithm == JwsAlgorithm::HS256 ? "HS256" : "ES256";
}

struct Key::Material {
  std::string secret;  // HS256
  PkeyPtr pkey;        // ES256
  bool has_private = false;
};

Key::Key(std::string kid, JwsAlgorithm algorithm, std::shared_ptr<const Material> material)
    : kid_(std::move(kid)), algorithm_(algorithm), material_(std::move(material)) {}

Result<Key> Key::hs256(std::string kid, std::string secret) {
  if (secret.size() < kMinHmacSecret)
    return key_error("HS256 secret must be at least 32 bytes");
  if (looks_like_public_key(secret))
    return key_error("HS256 secret is a public key; refusing (algorithm confusion)");
  auto m = std::make_shared<Material>();
  m->secret = std::move(secret);
  m->has_private = true;
  return Key(std::move(kid), JwsAlgorithm::HS256, std::move(m));
}

Result<Key> Key::es256_generate(std::string kid) {
  PkeyPtr pkey(EVP_EC_gen("P-256"));
  if (!pkey) return key_error("cannot generate a P-256 key");
  auto pem = [&]() -> std::string {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
    return bio_text(bio.get());
  }();
  return es256_from_pem(pem, std::move(kid));
}

Result<Key> Key::es256_from_pem(std::string_view pem, std::string kid) {
  auto m = std::make_shared<Material>();
  {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    m->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    m->has_private = m->pkey != nullptr;
  }
  if (!m->pkey) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    m->pkey.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  }
  if (!m->pkey) return key_error("not a PEM private or public key");
  if (!is_p256(m->pkey.get())) return key_error("ES256 needs an EC key on curve P-256");
  Key key(std::move(kid), JwsAlgorithm::ES256, std::move(m));
  if (key.kid_.empty()) {
    auto point = key.public_point();
    if (!point) return std::unexpected(point.error());
    std::string_view p = *point;
    // RFC 7638 thumbprint: required members in lexicographic order, no spaces.
    std::string canonical = R"({"crv":"P-256","kty":"EC","x":")" +
                            base64url_encode(p.substr(1, kCoordinate)) + R"(","y":")" +
                            base64url_encode(p.substr(1 + kCoordinate, kCoordinate)) + R"("})";
    auto digest = sha256(canonical);
    key.kid_ = base64url_encode(
        std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  }
  return key;
}

bool Key::can_sign() const { return material_->has_private; }

Result<std::string> Key::sign(std::string_view signing_input) const {
  if (!can_sign()) return key_error("key " + kid_ + " is a public key and cannot sign");
  if (algorithm_ == JwsAlgorithm::HS256) {
    auto mac = hmac_sha256(material_->secret, signing_input);
    if (mac.empty()) return fail("INTERNAL", "HMAC computation failed");
    return mac;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, material_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1)
    return fail("INTERNAL", "ECDSA signing failed");
  std::string der(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1)
    return fail("INTERNAL", "ECDSA signing failed");
  der.resize(len);
  auto raw = der_to_raw(der);
  if (raw.empty()) return fail("INTERNAL", "ECDSA signature conversion failed");
  return raw;
}

bool Key::verify(std::string_view signing_input, std::string_view signature) const {
  if (algorithm_ == JwsAlgorithm::HS256) {
    auto expected = hmac_sha256(material_->secret, signing_input);
    return !expected.empty() && constant_time_equal(expected, signature);
  }
  auto der = raw_to_der(signature);
  if (der.empty()) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, material_->pkey.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

Result<std::string> Key::private_pem() const {
  if (algorithm_ != JwsAlgorithm::ES256 || !can_sign())
    return key_error("only ES256 signing keys have a private PEM");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), material_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return fail("INTERNAL", "cannot encode private key");
  return bio_text(bio.get());
}

Result<std::string> Key::public_pem() const {
  if (algorithm_ != JwsAlgorithm::ES256) return key_error("HS256 keys have no public form");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), material_->pkey.get()) != 1)
    return fail("INTERNAL", "cannot encode public key");
  return bio_text(bio.get());
}

Result<std::string> Key::public_point() const {
  if (algorithm_ != JwsAlgorithm::ES256) return key_error("HS256 keys have no public form");
  auto x = coordinate(material_->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  if (!x) return std::unexpected(x.error());
  auto y = coordinate(material_->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  if (!y) return std::unexpected(y.error());
  return std::string(1, '\x04') + *x + *y;
}

Result<std::string> Key::public_jwk_json() const {
  auto point = public_point();
  if (!point) return std::unexpected(point.error());
  std::string_view p = *point;
  nlohmann::json jwk = {{"kty", "EC"},
                        {"crv", "P-256"},
                        {"x", base64url_encode(p.substr(1, kCoordinate))},
                        {"y", base64url_encode(p.substr(1 + kCoordinate, kCoordinate))},
                        {"kid", kid_},
                        {"alg", "ES256"},
                        {"use", "sig"}};
  return jwk.dump();
}

Result<void> KeySet::add(Key key) {
  if (key.kid().empty()) return key_error("a key needs a non-empty kid");
  std::string kid = key.kid();
  if (!keys_.emplace(kid, std::move(key)).second) return key_error("duplicate kid " + kid);
  return {};
}

Result<void> KeySet::set_default_kid(std::string_view kid) {
  if (!keys_.contains(kid)) return key_error("no key with kid " + std::string(kid));
  default_kid_ = kid;
  return {};
}

const Key* KeySet::find(std::string_view kid) const {
  if (kid.empty()) kid = default_kid_;
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : &it->second;
}

std::string KeySet::jwks_json() const {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& [kid, key] : keys_)
    if (auto jwk = key.public_jwk_json()) keys.push_back(nlohmann::json::parse(*jwk));
  return nlohmann::json{{"keys", keys}}.dump();
}

}  // namespace strata::auth
