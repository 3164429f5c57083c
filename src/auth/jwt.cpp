#include "auth/jwt.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "auth/base64url.h"
#include "auth/strict_json.h"

namespace strata::auth {
namespace {

using nlohmann::json;

struct Parts {
  std::string_view header, payload, signature, signing_input;
};

Result<Parts> split(std::string_view token) {
  auto first = token.find('.');
  if (first == std::string_view::npos) return fail("TOKEN_MALFORMED", "token must have three parts");
  auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return fail("TOKEN_MALFORMED", "token must have exactly three parts");
  Parts p{token.substr(0, first), token.substr(first + 1, second - first - 1),
          token.substr(second + 1), token.substr(0, second)};
  if (p.header.empty() || p.payload.empty() || p.signature.empty())
    return fail("TOKEN_MALFORMED", "token has an empty part");
  return p;
}

Result<std::string> decode_part(std::string_view part, const char* what) {
  auto bytes = base64url_decode(part);
  if (!bytes) return fail("TOKEN_MALFORMED", std::string(what) + " is not valid base64url");
  return bytes;
}

Result<json> parse_part(std::string_view bytes, const char* what) {
  auto object = parse_json_object(bytes);
  if (!object) return fail("TOKEN_MALFORMED", std::string(what) + " is not a strict JSON object");
  return std::move(*object);
}

std::unexpected<Error> claim_error(const char* name, const char* expected) {
  return fail("TOKEN_CLAIMS", std::string("claim ") + name + " must be " + expected);
}

Result<std::optional<std::string>> string_claim(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::nullopt;
  if (!it->is_string()) return claim_error(name, "a string");
  return it->get<std::string>();
}

// NumericDate: a JSON number of seconds; fractions are truncated.
Result<std::optional<std::int64_t>> time_claim(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::nullopt;
  if (it->is_number_integer() && !it->is_number_unsigned()) return it->get<std::int64_t>();
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return claim_error(name, "a NumericDate in range");
    return static_cast<std::int64_t>(v);
  }
  if (it->is_number_float()) {
    double v = it->get<double>();
    if (!std::isfinite(v) || std::fabs(v) > 1e15) return claim_error(name, "a NumericDate in range");
    return static_cast<std::int64_t>(std::floor(v));
  }
  return claim_error(name, "a number (NumericDate)");
}

Result<std::vector<std::string>> audience_claim(const json& payload) {
  auto it = payload.find("aud");
  if (it == payload.end()) return claim_error("aud", "present");
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  if (!it->is_array()) return claim_error("aud", "a string or an array of strings");
  std::vector<std::string> out;
  for (const auto& a : *it) {
    if (!a.is_string()) return claim_error("aud", "a string or an array of strings");
    out.push_back(a.get<std::string>());
  }
  return out;
}

Result<RegisteredClaims> registered_claims(const json& payload) {
  RegisteredClaims c;
  auto iss = string_claim(payload, "iss");
  if (!iss) return std::unexpected(iss.error());
  if (!*iss) return claim_error("iss", "present");
  c.issuer = std::move(**iss);
  auto sub = string_claim(payload, "sub");
  if (!sub) return std::unexpected(sub.error());
  c.subject = sub->value_or("");
  auto jti = string_claim(payload, "jti");
  if (!jti) return std::unexpected(jti.error());
  c.jwt_id = jti->value_or("");
  auto aud = audience_claim(payload);
  if (!aud) return std::unexpected(aud.error());
  c.audience = std::move(*aud);
  auto exp = time_claim(payload, "exp");
  if (!exp) return std::unexpected(exp.error());
  if (!*exp) return claim_error("exp", "present");
  c.expires_at = **exp;
  auto nbf = time_claim(payload, "nbf");
  if (!nbf) return std::unexpected(nbf.error());
  c.not_before = *nbf;
  auto iat = time_claim(payload, "iat");
  if (!iat) return std::unexpected(iat.error());
  c.issued_at = *iat;
  return c;
}

Result<void> check_claims(const RegisteredClaims& c, const VerifyOptions& o) {
  if (c.issuer != o.issuer) return fail("TOKEN_ISSUER", "token issuer is not " + o.issuer);
  if (std::ranges::find(c.audience, o.audience) == c.audience.end())
    return fail("TOKEN_AUDIENCE", "token is not meant for " + o.audience);
  // Compare in the safe direction: subtracting leeway from now cannot overflow.
  if (o.now - o.leeway_seconds > c.expires_at) return fail("TOKEN_EXPIRED", "token has expired");
  if (c.not_before && *c.not_before > o.now + o.leeway_seconds)
    return fail("TOKEN_NOT_YET_VALID", "token is not valid yet (nbf)");
  if (c.issued_at && *c.issued_at > o.now + o.leeway_seconds)
    return fail("TOKEN_NOT_YET_VALID", "token was issued in the future (iat)");
  return {};
}

}  // namespace

Result<std::string> sign_jwt(const Key& key, std::string_view payload_json) {
  if (!parse_json_object(payload_json)) return fail("INTERNAL", "JWT payload must be a JSON object");
  json header = {{"alg", algorithm_name(key.algorithm())}, {"typ", "JWT"}, {"kid", key.kid()}};
  std::string token = base64url_encode(dump_json(header));
  token += '.';
  token += base64url_encode(payload_json);
  auto signature = key.sign(token);
  if (!signature) return std::unexpected(signature.error());
  token += '.';
  token += base64url_encode(*signature);
  return token;
}

Result<VerifiedJwt> verify_jwt(std::string_view token, const KeySet& keys,
                               const VerifyOptions& options) {
  if (token.size() > options.max_token_bytes)
    return fail("TOKEN_TOO_LARGE", "token is larger than " + std::to_string(options.max_token_bytes) + " bytes");
  auto parts = split(token);
  if (!parts) return std::unexpected(parts.error());
  auto header_text = decode_part(parts->header, "header");
  if (!header_text) return std::unexpected(header_text.error());
  auto payload_text = decode_part(parts->payload, "payload");
  if (!payload_text) return std::unexpected(payload_text.error());
  auto header = parse_part(*header_text, "header");
  if (!header) return std::unexpected(header.error());

  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string())
    return fail("TOKEN_MALFORMED", "header has no alg");
  if (header->contains("crit"))
    return fail("TOKEN_MALFORMED", "header has critical extensions this verifier does not know");
  std::string kid;
  if (auto k = header->find("kid"); k != header->end()) {
    if (!k->is_string() || k->get_ref<const std::string&>().empty())
      return fail("TOKEN_MALFORMED", "header kid must be a non-empty string");
    kid = k->get<std::string>();
  }
  const auto& alg_name = alg->get_ref<const std::string&>();
  if (alg_name != "HS256" && alg_name != "ES256")
    return fail("TOKEN_ALGORITHM", "algorithm " + alg_name + " is not accepted");
  const Key* key = keys.find(kid);
  if (!key) return fail("TOKEN_KEY_UNKNOWN", kid.empty() ? "token names no key (kid)" : "unknown key id " + kid);
  if (alg_name != algorithm_name(key->algorithm()))
    return fail("TOKEN_ALGORITHM", "key " + key->kid() + " only accepts " +
                                       std::string(algorithm_name(key->algorithm())));

  auto signature = decode_part(parts->signature, "signature");
  if (!signature) return std::unexpected(signature.error());
  if (!key->verify(parts->signing_input, *signature))
    return fail("TOKEN_SIGNATURE", "token signature does not verify");

  auto payload = parse_part(*payload_text, "payload");
  if (!payload) return std::unexpected(payload.error());
  auto claims = registered_claims(*payload);
  if (!claims) return std::unexpected(claims.error());
  if (auto ok = check_claims(*claims, options); !ok) return std::unexpected(ok.error());
  return VerifiedJwt{key->kid(), key->algorithm(), std::move(*claims), std::move(*payload_text)};
}

}  // namespace strata::auth
