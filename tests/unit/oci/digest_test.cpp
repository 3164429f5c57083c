#include "oci/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::oci {
namespace {

constexpr std::string_view kSha256Abc =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr std::string_view kSha512Abc =
    "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

TEST(Digest, ParsesSha256AndRoundTrips) {
  auto d = Digest::parse(kSha256Abc);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->algorithm(), DigestAlgorithm::sha256);
  EXPECT_EQ(d->algorithm_name(), "sha256");
  EXPECT_EQ(d->hex().size(), 64u);
  EXPECT_EQ(d->str(), kSha256Abc);
}

TEST(Digest, ParsesSha512) {
  auto d = Digest::parse(kSha512Abc);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->algorithm(), DigestAlgorithm::sha512);
  EXPECT_EQ(d->str(), kSha512Abc);
}

TEST(Digest, RejectsUppercaseHex) {
  std::string upper(kSha256Abc);
  upper[10] = 'A';
  auto d = Digest::parse(upper);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, "DIGEST_INVALID");
}

TEST(Digest, RejectsWrongLength) {
  std::string text(kSha256Abc);
  EXPECT_FALSE(Digest::parse(text.substr(0, text.size() - 1)).has_value());
  EXPECT_FALSE(Digest::parse(text + "0").has_value());
  // A sha256-length hex under the sha512 name is wrong too.
  EXPECT_FALSE(Digest::parse("sha512:" + text.substr(7)).has_value());
}

TEST(Digest, RejectsUnknownAlgorithm) {
  auto d = Digest::parse("md5:900150983cd24fb0d6963f7d28e17f72");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, "DIGEST_INVALID");
  EXPECT_FALSE(Digest::parse("SHA256:" + std::string(kSha256Abc.substr(7))).has_value());
}

TEST(Digest, RejectsMissingSeparatorAndNonHex) {
  EXPECT_FALSE(Digest::parse("").has_value());
  EXPECT_FALSE(Digest::parse("sha256").has_value());
  EXPECT_FALSE(Digest::parse(std::string(kSha256Abc.substr(7))).has_value());
  std::string non_hex(kSha256Abc);
  non_hex.back() = 'g';
  EXPECT_FALSE(Digest::parse(non_hex).has_value());
}

TEST(Digest, OfComputesKnownValues) {
  EXPECT_EQ(Digest::of(DigestAlgorithm::sha256, "abc").str(), kSha256Abc);
  EXPECT_EQ(Digest::of(DigestAlgorithm::sha512, "abc").str(), kSha512Abc);
  EXPECT_EQ(Digest::of(DigestAlgorithm::sha256, "").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digester, StreamingEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>(i * 31 + 7));
  for (auto algorithm : {DigestAlgorithm::sha256, DigestAlgorithm::sha512}) {
    Digester d(algorithm);
    for (std::size_t pos = 0; pos < data.size(); pos += 4093)
      d.update(std::string_view(data).substr(pos, 4093));
    EXPECT_EQ(d.bytes(), data.size());
    EXPECT_EQ(d.finish(), Digest::of(algorithm, data));
  }
}

TEST(Digester, MovedDigesterKeepsState) {
  Digester a;
  a.update("ab");
  Digester b = std::move(a);
  b.update("c");
  EXPECT_EQ(b.finish().str(), kSha256Abc);
}

TEST(Digest, OrdersAndCompares) {
  auto a = Digest::of(DigestAlgorithm::sha256, "a");
  auto b = Digest::of(DigestAlgorithm::sha256, "b");
  EXPECT_NE(a, b);
  EXPECT_EQ(a, Digest::parse(a.str()).value());
  EXPECT_TRUE(a < b || b < a);
}

}  // namespace
}  // namespace strata::oci
