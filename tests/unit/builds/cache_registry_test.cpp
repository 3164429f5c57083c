// The --cache-registry URL: the forms accepted (and how they are normalised)
// and the ones refused with CONFIG_INVALID.
#include "builds/cache_registry.h"

#include <gtest/gtest.h>

namespace strata::builds {
namespace {

TEST(NormalizeRegistryUrl, AcceptsHttpAndHttpsBaseUrls) {
  EXPECT_EQ(normalize_registry_url("http://127.0.0.1:5000"), "http://127.0.0.1:5000");
  EXPECT_EQ(normalize_registry_url("https://registry.example.com"), "https://registry.example.com");
  EXPECT_EQ(normalize_registry_url("http://cache-registry:80"), "http://cache-registry:80");
  EXPECT_EQ(normalize_registry_url("http://[::1]:5000"), "http://[::1]:5000");
  EXPECT_EQ(normalize_registry_url("https://[fe80::1]"), "https://[fe80::1]");
}

TEST(NormalizeRegistryUrl, DropsOneTrailingSlash) {
  EXPECT_EQ(normalize_registry_url("http://127.0.0.1:5000/"), "http://127.0.0.1:5000");
}

TEST(NormalizeRegistryUrl, RefusesOtherSchemesAndMalformedAuthorities) {
  for (const char* url : {"", "127.0.0.1:5000", "ftp://host", "HTTP://host", "http:/host", "http://", "http:///",
                          "http://:5000", "http://host:", "http://host:0", "http://host:65536", "http://host:5x",
                          "http://ho st", "http://ho_st", "http://[::1", "http://[]:5000", "http://[::1]x",
                          "http://[zz::1]"}) {
    auto url_result = normalize_registry_url(url);
    ASSERT_FALSE(url_result) << url;
    EXPECT_EQ(url_result.error().code, "CONFIG_INVALID");
  }
}

TEST(NormalizeRegistryUrl, RefusesPathsQueriesAndCredentials) {
  for (const char* url : {"http://host/v2", "http://host//", "http://host?x=1", "http://host#f"}) {
    auto refused = normalize_registry_url(url);
    ASSERT_FALSE(refused) << url;
    EXPECT_NE(refused.error().message.find("base URL"), std::string::npos) << refused.error().message;
  }
  auto credentials = normalize_registry_url("http://user:secret@host:5000");
  ASSERT_FALSE(credentials);
  EXPECT_NE(credentials.error().message.find("username and password separately"), std::string::npos);
  EXPECT_EQ(credentials.error().message.find("secret"), std::string::npos) << "the password leaked into the error";
}

}  // namespace
}  // namespace strata::builds
