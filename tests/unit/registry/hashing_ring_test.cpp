#include "registry/hashing_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace strata::registry {
namespace {

using oci::Digest;
using oci::DigestAlgorithm;

std::string pattern(std::size_t size, unsigned seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + seed * 17) % 251);
  return s;
}

// Fills the ring's buffers from `content` in pieces of at most `piece`.
void feed(HashingRing& ring, const std::string& content, std::size_t piece) {
  for (std::size_t at = 0; at < content.size(); at += piece) {
    std::size_t n = std::min(piece, content.size() - at);
    std::memcpy(ring.buffer(), content.data() + at, n);
    ring.hash_buffer(n);
  }
}

TEST(HashingRing, ManyFullBuffersHashLikeOneCall) {
  // More buffers than the ring holds, each with different bytes: a buffer
  // refilled before the helper hashed it would change the digest.
  std::string content = pattern(HashingRing::kBufferSize * 9 + 12345, 1);
  HashingRing ring{oci::Digester()};
  feed(ring, content, HashingRing::kBufferSize);
  EXPECT_EQ(ring.digester().finish(), Digest::of(DigestAlgorithm::sha256, content));
}

TEST(HashingRing, ShortBuffersAfterFullOnesKeepTheirOrder) {
  std::string head = pattern(HashingRing::kBufferSize * 2, 2), tail = pattern(70'000, 3);
  HashingRing ring{oci::Digester()};
  feed(ring, head, HashingRing::kBufferSize);
  feed(ring, tail, 4096);
  EXPECT_EQ(ring.digester().finish(), Digest::of(DigestAlgorithm::sha256, head + tail));
}

TEST(HashingRing, ContinuesTheHashItIsGiven) {
  std::string before = "bytes hashed by an earlier request", after = pattern(3 << 20, 4);
  oci::Digester hash;
  hash.update(before);
  HashingRing ring{std::move(hash)};
  feed(ring, after, HashingRing::kBufferSize);
  EXPECT_EQ(ring.digester().finish(), Digest::of(DigestAlgorithm::sha256, before + after));
}

TEST(HashingRing, DigesterCanBeTakenBetweenBuffers) {
  std::string first = pattern(HashingRing::kBufferSize * 2, 5), second = pattern(5000, 6);
  HashingRing ring{oci::Digester()};
  feed(ring, first, HashingRing::kBufferSize);
  EXPECT_EQ(ring.digester().bytes(), first.size());
  feed(ring, second, second.size());
  EXPECT_EQ(ring.digester().finish(), Digest::of(DigestAlgorithm::sha256, first + second));
}

TEST(HashingRing, BuffersAreAlignedForDirectIo) {
  HashingRing ring{oci::Digester()};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ring.buffer()) % HashingRing::kAlignment, 0u);
    ring.hash_buffer(HashingRing::kBufferSize);
  }
}

TEST(HashingRing, DestroyedWithBuffersStillQueuedStopsPromptly) {
  auto ring = std::make_unique<HashingRing>(oci::Digester());
  for (std::size_t i = 0; i < HashingRing::kBuffers; ++i) {
    std::memset(ring->buffer(), 'x', HashingRing::kBufferSize);
    ring->hash_buffer(HashingRing::kBufferSize);
  }
  ring.reset();  // must return (the test would time out otherwise)
  SUCCEED();
}

}  // namespace
}  // namespace strata::registry
