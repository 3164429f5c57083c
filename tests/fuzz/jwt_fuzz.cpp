// libFuzzer target for the JWT verifier. Each input is tried twice: as a
// whole compact token (header, base64url and signature handling), and as a
// payload that the harness signs with the fixed HS256 key, so the claim
// parsers behind the signature check (registered claims, all three grant
// shapes) see arbitrary JSON too. Any crash, sanitizer report or leak is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/access.h"
#include "auth/jwt.h"

namespace {

using strata::auth::Key;
using strata::auth::KeySet;

const KeySet& fixed_keys() {
  static const KeySet keys = [] {
    KeySet set;
    (void)set.add(*Key::hs256("hs-1", "fuzzing-secret-fuzzing-secret-32"));
    (void)set.add(*Key::es256_generate("es-1"));
    (void)set.set_default_kid("hs-1");
    return set;
  }();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const strata::auth::VerifyOptions options{"strata", "strata-registry", 1'700'000'000};

  (void)strata::auth::verify_jwt(input, fixed_keys(), options);

  auto token = strata::auth::sign_jwt(*fixed_keys().find("hs-1"), input);
  if (token) {
    auto verified = strata::auth::verify_jwt(*token, fixed_keys(), options);
    if (verified) (void)strata::auth::GrantSet::from_claims(verified->payload_json);
  }
  return 0;
}
