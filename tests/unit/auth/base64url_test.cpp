#include "auth/base64url.h"

#include <gtest/gtest.h>

namespace strata::auth {
namespace {

TEST(Base64url, RoundTripsEveryLengthAndByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
    auto decoded = base64url_decode(base64url_encode(bytes));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(Base64url, EncodesWithUrlSafeAlphabetAndNoPadding) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode(""), "");
}

TEST(Base64url, RejectsPaddingWhitespaceAndStandardAlphabet) {
  EXPECT_EQ(base64url_decode("Zg==").error().code, "TOKEN_MALFORMED");
  EXPECT_FALSE(base64url_decode("Zm 9v").has_value());
  EXPECT_FALSE(base64url_decode("+/8").has_value());
  EXPECT_FALSE(base64url_decode("Zm9v\n").has_value());
}

TEST(Base64url, RejectsImpossibleLength) { EXPECT_FALSE(base64url_decode("Zm9vY").has_value()); }

TEST(Base64url, RejectsNonCanonicalTrailingBits) {
  // "Zg" is "f"; "Zh" differs only in bits that do not fit a byte.
  EXPECT_TRUE(base64url_decode("Zg").has_value());
  EXPECT_FALSE(base64url_decode("Zh").has_value());
}

}  // namespace
}  // namespace strata::auth
