#include "auth/key_files.h"

#include "auth/base64url.h"
#include "auth/private_file.h"
#include "auth/secrets.h"

namespace strata::auth {
namespace {

constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kKidHashChars = 16;

std::string trim_newline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

Result<Key> hs256_key_from_secret(std::string secret) {
  // Domain-separated so the kid is never a hash anyone else computes of the secret.
  auto digest = sha256("strata hs256 kid\n" + secret);
  auto kid = "hs-" + base64url_encode(std::string_view(reinterpret_cast<const char*>(digest.data()),
                                                       digest.size()))
                         .substr(0, kKidHashChars);
  return Key::hs256(std::move(kid), std::move(secret));
}

Result<Key> load_or_create_hs256_key(const std::filesystem::path& file) {
  auto created = write_private_file(file, base64url_encode(random_bytes(kSecretBytes)) + "\n", IfExists::keep);
  if (!created) return std::unexpected(created.error());
  auto text = read_private_file(file);
  if (!text) return std::unexpected(text.error());
  auto secret = base64url_decode(trim_newline(std::move(*text)));
  if (!secret) return fail("KEY_INVALID", file.string() + " does not hold a base64url HS256 secret");
  return hs256_key_from_secret(std::move(*secret));
}

Result<Key> load_or_create_es256_key(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) {
    auto fresh = Key::es256_generate();
    if (!fresh) return std::unexpected(fresh.error());
    auto pem = fresh->private_pem();
    if (!pem) return std::unexpected(pem.error());
    auto created = write_private_file(file, *pem, IfExists::keep);
    if (!created) return std::unexpected(created.error());
    if (*created) return fresh;
    // Another process created it first; use theirs.
  }
  auto text = read_private_file(file);
  if (!text) return std::unexpected(text.error());
  auto key = Key::es256_from_pem(*text);
  if (!key) return fail("KEY_INVALID", file.string() + ": " + key.error().message);
  if (!key->can_sign()) return fail("KEY_INVALID", file.string() + " holds a public key, not a private key");
  return key;
}

}  // namespace strata::auth
