// JWS signing keys and the key set a verifier chooses from by `kid`.
//
// A Key is one named key pinned to exactly one algorithm: an HS256 secret or
// an ES256 (P-256) key pair or public key. Pinning is what defeats algorithm
// confusion: a token naming an ES key's kid is only ever checked with ECDSA,
// never with the key's bytes as an HMAC secret. Key::sign/verify produce and
// check the JWS signature encoding (HMAC output; raw R||S for ES256).
//
// Key and KeySet are immutable once built (KeySet::add is for setup only),
// cheap to copy (key material is shared) and safe to use from many threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

namespace strata::auth {

enum class JwsAlgorithm { HS256, ES256 };
std::string_view algorithm_name(JwsAlgorithm algorithm);

class Key {
 public:
  // An HMAC secret of at least 32 bytes. Material that is a PEM or DER public
  // key is refused: that is the shape of an algorithm-confusion mistake.
  static Result<Key> hs256(std::string kid, std::string secret);
  // A fresh P-256 key pair. An empty kid becomes the RFC 7638 thumbprint.
  static Result<Key> es256_generate(std::string kid = {});
  // A P-256 private key (can sign) or public key (verify only) in PEM.
  static Result<Key> es256_from_pem(std::string_view pem, std::string kid = {});

  const std::string& kid() const { return kid_; }
  JwsAlgorithm algorithm() const { return algorithm_; }
  bool can_sign() const;

  // The JWS signature over `signing_input` ("<header>.<payload>").
  Result<std::string> sign(std::string_view signing_input) const;
  // Constant-time for HS256; ES256 signatures must be exactly 64 bytes.
  bool verify(std::string_view signing_input, std::string_view signature) const;

  // ES256 only: PKCS#8 private key PEM (signing keys), SubjectPublicKeyInfo
  // PEM, and the uncompressed public point 0x04||X||Y (65 bytes).
  Result<std::string> private_pem() const;
  Result<std::string> public_pem() const;
  Result<std::string> public_point() const;
  // ES256 only: the public JWK object as JSON text.
  Result<std::string> public_jwk_json() const;

 private:
  struct Material;
  Key(std::string kid, JwsAlgorithm algorithm, std::shared_ptr<const Material> material);
  std::string kid_;
  JwsAlgorithm algorithm_;
  std::shared_ptr<const Material> material_;
};

class KeySet {
 public:
  // Fails with KEY_INVALID for an empty or duplicate kid.
  Result<void> add(Key key);
  // Tokens without a `kid` header (older issuers sharing the HS256 secret)
  // are checked with this key; without a default they are refused.
  Result<void> set_default_kid(std::string_view kid);
  // nullptr if unknown. An empty kid means the default key, if any.
  const Key* find(std::string_view kid) const;
  // {"keys":[...]} with the public ES256 keys, for /.well-known/jwks.json.
  // HS256 secrets never appear.
  std::string jwks_json() const;

 private:
  std::map<std::string, Key, std::less<>> keys_;
  std::string default_kid_;
};

}  // namespace strata::auth
