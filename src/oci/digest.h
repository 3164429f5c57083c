// Content digests as the OCI image spec defines them: "<algorithm>:<encoded>".
// Registered algorithms sha256 (64 lowercase hex) and sha512 (128 lowercase
// hex) are accepted; anything else is DIGEST_INVALID. Digester computes a
// digest incrementally, so blobs are hashed while they stream.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

namespace strata::oci {

enum class DigestAlgorithm { sha256, sha512 };

class Digest {
 public:
  // Parses and validates "sha256:<64 hex>" / "sha512:<128 hex>".
  static Result<Digest> parse(std::string_view text);
  // Digest of an in-memory buffer.
  static Digest of(DigestAlgorithm algorithm, std::string_view data);

  DigestAlgorithm algorithm() const { return algorithm_; }
  std::string_view algorithm_name() const;  // "sha256" / "sha512"
  const std::string& hex() const { return hex_; }
  std::string str() const;  // "sha256:abcd..."

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  Digest(DigestAlgorithm a, std::string hex) : algorithm_(a), hex_(std::move(hex)) {}
  DigestAlgorithm algorithm_ = DigestAlgorithm::sha256;
  std::string hex_;
};

// Incremental hasher. Not thread-safe; one per stream.
class Digester {
 public:
  explicit Digester(DigestAlgorithm algorithm = DigestAlgorithm::sha256);
  ~Digester();
  Digester(Digester&&) noexcept;
  Digester& operator=(Digester&&) noexcept;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Finishes the hash; the Digester must not be updated afterwards.
  Digest finish();
  std::size_t bytes() const { return bytes_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  DigestAlgorithm algorithm_;
  std::size_t bytes_ = 0;
};

}  // namespace strata::oci
