#include "sandbox/egress_ruleset.h"

#include <fmt/format.h>

namespace strata::sandbox {
namespace {

// "ip daddr 10.0.0.0/8" or "ip6 daddr fe80::/10".
std::string destination(const Cidr& range) { return fmt::format("{} daddr {}", range.base.v6 ? "ip6" : "ip", range.str()); }

}  // namespace

std::string egress_ruleset(const AddressPolicy& policy, const IpAddress& resolver) {
  std::string rules;
  auto rule = [&](const std::string& text) { rules += "\t\t" + text + "\n"; };
  rule(R"(oifname "lo" accept)");
  for (const char* protocol : {"udp", "tcp"})
    rule(fmt::format("{} {} dport 53 accept", destination(Cidr::single(resolver)), protocol));
  for (const auto& range : policy.allowed()) rule(destination(range) + " accept");
  for (const auto& range : policy.denied()) rule(destination(range) + " reject with icmpx type admin-prohibited");
  return fmt::format(
      "table inet {} {{\n"
      "\tchain output {{\n"
      "\t\ttype filter hook output priority filter; policy accept;\n"
      "{}"
      "\t}}\n"
      "}}\n",
      kEgressTable, rules);
}

}  // namespace strata::sandbox
