// The egress firewall is tested on its text: each range the issue names is
// rejected, in an order where the operator's allow wins. (The rule set
// loaded into a real namespace is tested in engine/build_network_test.)
#include "sandbox/egress_ruleset.h"

#include <gtest/gtest.h>

#include <sstream>

namespace strata::sandbox {
namespace {

const IpAddress kResolver = *IpAddress::parse("10.0.2.3");

std::vector<std::string> rules_of(const std::string& ruleset) {
  std::vector<std::string> rules;
  std::istringstream in(ruleset);
  for (std::string line; std::getline(in, line);) {
    auto start = line.find_first_not_of('\t');
    if (start != std::string::npos) rules.push_back(line.substr(start));
  }
  return rules;
}

std::ptrdiff_t position(const std::vector<std::string>& rules, const std::string& rule) {
  auto it = std::find(rules.begin(), rules.end(), rule);
  return it == rules.end() ? -1 : it - rules.begin();
}

std::string reject(const std::string& destination) {
  return destination + " reject with icmpx type admin-prohibited";
}

TEST(EgressRuleset, IsOneOutputChainThatAcceptsByDefault) {
  auto rules = rules_of(egress_ruleset(AddressPolicy{}, kResolver));
  ASSERT_GE(rules.size(), 4u);
  EXPECT_EQ(rules[0], "table inet strata_egress {");
  EXPECT_EQ(rules[1], "chain output {");
  EXPECT_EQ(rules[2], "type filter hook output priority filter; policy accept;");
}

TEST(EgressRuleset, RejectsEveryRangeTheIssueNames) {
  auto rules = rules_of(egress_ruleset(AddressPolicy{}, kResolver));
  for (const char* range : {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                            "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
                            "255.255.255.255/32"})
    EXPECT_GE(position(rules, reject(std::string("ip daddr ") + range)), 0) << range;
  for (const char* range : {"::1/128", "fe80::/10", "fc00::/7", "ff00::/8", "::ffff:0.0.0.0/96"})
    EXPECT_GE(position(rules, reject(std::string("ip6 daddr ") + range)), 0) << range;
}

TEST(EgressRuleset, RejectsTheHostsOwnAddressesAndTheOperatorsDenyList) {
  auto policy = AddressPolicy::make({.egress_deny = {"198.51.100.0/24"}},
                                    {*IpAddress::parse("192.0.2.2"), *IpAddress::parse("2001:db8::2")},
                                    [](const std::string&) -> Result<std::vector<IpAddress>> { return {}; });
  ASSERT_TRUE(policy);
  auto rules = rules_of(egress_ruleset(*policy, kResolver));
  EXPECT_GE(position(rules, reject("ip daddr 192.0.2.2/32")), 0);
  EXPECT_GE(position(rules, reject("ip6 daddr 2001:db8::2/128")), 0);
  EXPECT_GE(position(rules, reject("ip daddr 198.51.100.0/24")), 0);
}

TEST(EgressRuleset, LoopbackInterfaceAndResolverAndOperatorAllowComeBeforeAnyReject) {
  auto policy = AddressPolicy::make({.egress_allow = {"10.1.2.0/24"}}, {},
                                    [](const std::string&) -> Result<std::vector<IpAddress>> { return {}; });
  ASSERT_TRUE(policy);
  auto rules = rules_of(egress_ruleset(*policy, kResolver));
  std::ptrdiff_t first_reject = -1;
  for (std::size_t i = 0; i < rules.size() && first_reject < 0; ++i)
    if (rules[i].find(" reject ") != std::string::npos) first_reject = static_cast<std::ptrdiff_t>(i);
  ASSERT_GT(first_reject, 0);
  for (const char* accepted : {"oifname \"lo\" accept", "ip daddr 10.0.2.3/32 udp dport 53 accept",
                               "ip daddr 10.0.2.3/32 tcp dport 53 accept", "ip daddr 10.1.2.0/24 accept"}) {
    auto at = position(rules, accepted);
    EXPECT_GE(at, 0) << accepted;
    EXPECT_LT(at, first_reject) << accepted;
  }
  // Nothing else is accepted: DNS only to the resolver, only on port 53.
  EXPECT_EQ(std::count_if(rules.begin(), rules.end(),
                          [](const std::string& rule) { return rule.ends_with(" accept"); }),
            4);
}

}  // namespace
}  // namespace strata::sandbox
