// Digest parsing and incremental hashing on OpenSSL's EVP interface.
#include "oci/digest.h"

#include <openssl/evp.h>

#include <algorithm>

namespace strata::oci {
namespace {

constexpr std::string_view kHex = "0123456789abcdef";

std::size_t hex_length(DigestAlgorithm a) { return a == DigestAlgorithm::sha256 ? 64 : 128; }

const EVP_MD* evp_for(DigestAlgorithm a) {
  return a == DigestAlgorithm::sha256 ? EVP_sha256() : EVP_sha512();
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

}  // namespace

Result<Digest> Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail("DIGEST_INVALID", "digest must look like <algorithm>:<hex>", std::string(text));
  auto algo = text.substr(0, colon);
  auto hex = text.substr(colon + 1);
  DigestAlgorithm a;
  if (algo == "sha256") {
    a = DigestAlgorithm::sha256;
  } else if (algo == "sha512") {
    a = DigestAlgorithm::sha512;
  } else {
    return fail("DIGEST_INVALID", "unsupported digest algorithm (use sha256 or sha512)",
                std::string(algo));
  }
  if (hex.size() != hex_length(a) ||
      !std::ranges::all_of(hex, [](char c) { return kHex.find(c) != std::string_view::npos; }))
    return fail("DIGEST_INVALID",
                "digest hex must be " + std::to_string(hex_length(a)) + " lowercase hex characters",
                std::string(text));
  return Digest(a, std::string(hex));
}

Digest Digest::of(DigestAlgorithm algorithm, std::string_view data) {
  Digester d(algorithm);
  d.update(data);
  return d.finish();
}

std::string_view Digest::algorithm_name() const {
  return algorithm_ == DigestAlgorithm::sha256 ? "sha256" : "sha512";
}

std::string Digest::str() const {
  std::string s(algorithm_name());
  s += ':';
  s += hex_;
  return s;
}

struct Digester::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Digester::Digester(DigestAlgorithm algorithm) : impl_(std::make_unique<Impl>()), algorithm_(algorithm) {
  EVP_DigestInit_ex(impl_->ctx, evp_for(algorithm), nullptr);
}
Digester::~Digester() = default;
Digester::Digester(Digester&&) noexcept = default;
Digester& Digester::operator=(Digester&&) noexcept = default;

void Digester::update(const void* data, std::size_t size) {
  EVP_DigestUpdate(impl_->ctx, data, size);
  bytes_ += size;
}

Digest Digester::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out, &len);
  return Digest::parse(std::string(algorithm_ == DigestAlgorithm::sha256 ? "sha256:" : "sha512:") +
                       to_hex(out, len))
      .value();
}

}  // namespace strata::oci
