#include "sandbox/registry_access.h"

#include <gtest/gtest.h>

namespace strata::sandbox {
namespace {

IpAddress ip(std::string_view text) { return *IpAddress::parse(text); }

RegistryHost host(std::string_view text) {
  auto parsed = RegistryHost::parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(RegistryHost{});
}

void expect_refused(const Result<void>& result, std::string_view name) {
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "REGISTRY_NOT_ALLOWED");
  EXPECT_EQ(result.error().message, "registry not allowed: " + std::string(name));
}

TEST(RegistryHost, ParsesHostPortAndBracketedIpv6) {
  EXPECT_EQ(host("Registry.Example").host, "registry.example");
  EXPECT_FALSE(host("registry.example").port);
  EXPECT_EQ(host("127.0.0.1:5000").port, 5000);
  EXPECT_EQ(host("[::1]:5000").host, "::1");
  EXPECT_EQ(host("[::1]").port, std::nullopt);
  for (const char* bad : {"", "*", "h:0", "h:65536", "h:", "[::1", "[example.com]:1", "a/b", "https://h"})
    EXPECT_FALSE(RegistryHost::parse(bad)) << bad;
}

TEST(RegistryHost, BareHostMatchesEveryPortAndHostPortOnlyItsOwn) {
  EXPECT_TRUE(host("ghcr.io").matches("GHCR.io", 443));
  EXPECT_TRUE(host("ghcr.io").matches("ghcr.io", 5000));
  EXPECT_TRUE(host("ghcr.io:443").matches("ghcr.io", 443));
  EXPECT_FALSE(host("ghcr.io:443").matches("ghcr.io", 5000));
  EXPECT_FALSE(host("ghcr.io").matches("evil.ghcr.io", 443));
}

TEST(RegistryAccess, TrustedRegistriesMayBeUsedOnAnyAddress) {
  RegistryAccess access({host("127.0.0.1:8083"), host("mirror.internal")}, false, AddressPolicy{});
  EXPECT_TRUE(access.check_registry("127.0.0.1", 8083, "127.0.0.1:8083"));
  EXPECT_TRUE(access.check_connect("127.0.0.1", 8083, ip("127.0.0.1")));
  EXPECT_TRUE(access.check_registry("mirror.internal", 443, "mirror.internal"));
  EXPECT_TRUE(access.check_connect("mirror.internal", 443, ip("10.1.2.3")));
}

TEST(RegistryAccess, OtherRegistriesAreRefusedByName) {
  RegistryAccess access({host("127.0.0.1:8083")}, false, AddressPolicy{});
  expect_refused(access.check_registry("127.0.0.1", 5000, "127.0.0.1:5000"), "127.0.0.1:5000");
  expect_refused(access.check_registry("docker.io", 443, "docker.io"), "docker.io");
}

TEST(RegistryAccess, AnyRegistryStillMeetsTheAddressRules) {
  RegistryAccess access({host("127.0.0.1:8083")}, true, AddressPolicy{});
  EXPECT_TRUE(access.check_registry("127.0.0.1", 5000, "127.0.0.1:5000"));
  expect_refused(access.check_connect("127.0.0.1", 5000, ip("127.0.0.1")), "127.0.0.1:5000");
  // A public name resolving to a private or link-local address.
  expect_refused(access.check_connect("rebind.example", 443, ip("169.254.169.254")), "rebind.example:443");
  expect_refused(access.check_connect("rebind.example", 443, ip("::ffff:127.0.0.1")), "rebind.example:443");
  expect_refused(access.check_connect("::1", 5000, ip("::1")), "[::1]:5000");
  EXPECT_TRUE(access.check_connect("registry.example", 443, ip("203.0.113.80")));
  // Our own registry is trusted on its loopback port only.
  EXPECT_TRUE(access.check_connect("127.0.0.1", 8083, ip("127.0.0.1")));
}

TEST(RegistryAccess, RedirectTargetOfATrustedRegistryNeedsAnAllowedAddress) {
  RegistryAccess access({host("registry.example")}, false, AddressPolicy{});
  EXPECT_TRUE(access.check_connect("storage.example", 443, ip("203.0.113.80")));
  expect_refused(access.check_connect("storage.example", 443, ip("10.0.0.5")), "storage.example:443");
}

}  // namespace
}  // namespace strata::sandbox
