#include "sandbox/address_policy.h"

#include <gtest/gtest.h>

#include <map>

namespace strata::sandbox {
namespace {

IpAddress ip(std::string_view text) {
  auto address = IpAddress::parse(text);
  EXPECT_TRUE(address) << text;
  return address.value_or(IpAddress{});
}

// A resolver that knows a fixed table and nothing else.
HostResolver table(std::map<std::string, std::vector<std::string>> names) {
  return [names](const std::string& host) -> Result<std::vector<IpAddress>> {
    auto it = names.find(host);
    if (it == names.end()) return fail("CONNECTION", host + ": Name or service not known");
    std::vector<IpAddress> addresses;
    for (const auto& text : it->second) addresses.push_back(*IpAddress::parse(text));
    return addresses;
  };
}

AddressPolicy policy_for(NetworkPolicy network, std::vector<std::string> host = {},
                         std::map<std::string, std::vector<std::string>> names = {}) {
  std::vector<IpAddress> host_addresses;
  for (const auto& text : host) host_addresses.push_back(ip(text));
  auto made = AddressPolicy::make(network, host_addresses, table(names));
  EXPECT_TRUE(made) << made.error().message;
  return made.value_or(AddressPolicy{});
}

TEST(Cidr, ParsesRangesAndBareAddresses) {
  EXPECT_EQ(Cidr::parse("10.0.0.0/8")->str(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::parse("192.0.2.7")->str(), "192.0.2.7/32");
  EXPECT_EQ(Cidr::parse("fe80::/10")->str(), "fe80::/10");
  EXPECT_EQ(Cidr::parse("2001:db8::1")->str(), "2001:db8::1/128");
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(ip("203.0.113.80")));
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0")->contains(ip("::1")));  // families never match
}

TEST(Cidr, RefusesBadPrefixesAndBitsAfterThePrefix) {
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/"));
  EXPECT_FALSE(Cidr::parse("10.0.0/8"));
  EXPECT_FALSE(Cidr::parse("example.com"));
  auto loose = Cidr::parse("10.1.2.3/8");
  ASSERT_FALSE(loose);
  EXPECT_NE(loose.error().message.find("did you mean 10.0.0.0/8?"), std::string::npos) << loose.error().message;
}

TEST(Cidr, ContainsExactlyItsPrefix) {
  auto range = *Cidr::parse("172.16.0.0/12");
  EXPECT_TRUE(range.contains(ip("172.16.0.1")));
  EXPECT_TRUE(range.contains(ip("172.31.255.255")));
  EXPECT_FALSE(range.contains(ip("172.32.0.0")));
  EXPECT_FALSE(range.contains(ip("172.15.255.255")));
}

TEST(AddressPolicy, DeniesEveryBuiltInRangeByDefault) {
  AddressPolicy policy;
  for (const char* address :
       {"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.53", "100.64.0.1", "100.127.255.254", "127.0.0.1",
        "127.1.2.3", "169.254.169.254", "172.16.0.1", "172.31.0.1", "192.168.1.1", "224.0.0.251",
        "239.255.255.250", "240.0.0.1", "255.255.255.255", "::1", "fe80::1", "febf::1", "fc00::1", "fd00::2",
        "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"})
    EXPECT_FALSE(policy.allows(ip(address))) << address;
}

TEST(AddressPolicy, AllowsPublicAddressesOutsideTheRanges) {
  AddressPolicy policy;
  for (const char* address : {"203.0.113.80", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.32.0.1",
                              "192.169.0.1", "223.255.255.255", "2001:db8::1", "2a00:1450::1"})
    EXPECT_TRUE(policy.allows(ip(address))) << address;
}

TEST(AddressPolicy, DeniesTheHostsOwnAddresses) {
  auto policy = policy_for({}, {"192.0.2.2", "2001:db8:1::2"});
  EXPECT_FALSE(policy.allows(ip("192.0.2.2")));
  EXPECT_FALSE(policy.allows(ip("2001:db8:1::2")));
  EXPECT_TRUE(policy.allows(ip("192.0.2.3")));
}

TEST(AddressPolicy, OperatorDenyAddsRangesAndNames) {
  auto policy = policy_for({.egress_deny = {"198.51.100.0/24", "blocked.example"}}, {},
                           {{"blocked.example", {"203.0.113.9", "2001:db8::9"}}});
  EXPECT_FALSE(policy.allows(ip("198.51.100.77")));
  EXPECT_FALSE(policy.allows(ip("203.0.113.9")));
  EXPECT_FALSE(policy.allows(ip("2001:db8::9")));
  EXPECT_TRUE(policy.allows(ip("203.0.113.10")));
}

TEST(AddressPolicy, OperatorAllowWinsOverDeny) {
  auto policy = policy_for({.egress_allow = {"10.1.2.0/24", "mirror.internal"},
                            .egress_deny = {"10.1.2.3"}},
                           {"192.0.2.2"}, {{"mirror.internal", {"192.168.7.7"}}});
  EXPECT_TRUE(policy.allows(ip("10.1.2.3")));     // allowed although denied twice
  EXPECT_TRUE(policy.allows(ip("192.168.7.7")));  // by name
  EXPECT_FALSE(policy.allows(ip("10.1.3.1")));    // the rest of 10/8 stays denied
  EXPECT_FALSE(policy.allows(ip("192.168.7.8")));
}

TEST(AddressPolicy, MappedAddressIsAllowedOnlyWhenItsIpv4AddressIsAllowedExplicitly) {
  auto policy = policy_for({.egress_allow = {"10.9.9.9"}});
  EXPECT_TRUE(policy.allows(ip("::ffff:10.9.9.9")));
  EXPECT_FALSE(policy.allows(ip("::ffff:203.0.113.80")));  // use the IPv4 address itself
}

TEST(AddressPolicy, UnresolvableDenyNameFailsAndUnresolvableAllowNameAllowsNothing) {
  auto deny = AddressPolicy::make({.egress_deny = {"gone.example"}}, {}, table({}));
  ASSERT_FALSE(deny);
  EXPECT_EQ(deny.error().code, "CONFIG_INVALID");
  EXPECT_NE(deny.error().message.find("gone.example"), std::string::npos);
  auto allow = AddressPolicy::make({.egress_allow = {"gone.example"}}, {}, table({}));
  ASSERT_TRUE(allow);
  EXPECT_TRUE(allow->allowed().empty());
}

TEST(AddressPolicy, CheckRefusesBadEntriesNamingTheFlag) {
  EXPECT_TRUE(check_network_policy({.egress_allow = {"10.0.0.0/8", "mirror.example", "2001:db8::/32"},
                                    .egress_deny = {"203.0.113.5"},
                                    .registry_allow = {"*", "ghcr.io", "127.0.0.1:5000", "[::1]:5000"}}));
  auto bad_cidr = check_network_policy({.egress_allow = {"10.1.2.3/8"}});
  ASSERT_FALSE(bad_cidr);
  EXPECT_TRUE(bad_cidr.error().message.starts_with("egress-allow ")) << bad_cidr.error().message;
  auto bad_name = check_network_policy({.egress_deny = {"not a host"}});
  ASSERT_FALSE(bad_name);
  EXPECT_TRUE(bad_name.error().message.starts_with("egress-deny ")) << bad_name.error().message;
  for (const char* entry : {"host:0", "host:70000", "http://host", "ho st", "[::1", ""}) {
    auto bad_registry = check_network_policy({.registry_allow = {entry}});
    ASSERT_FALSE(bad_registry) << entry;
    EXPECT_TRUE(bad_registry.error().message.starts_with("registry-allow ")) << bad_registry.error().message;
  }
}

}  // namespace
}  // namespace strata::sandbox
