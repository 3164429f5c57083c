// The nftables rule set of a build's egress network namespace, written from
// its AddressPolicy: what `nft -f` loads there before any step runs.
//
// One table, inet strata_egress, with one output chain (policy accept) whose
// rules are, in order:
//   1. anything leaving through `lo` (the namespace's own loopback) is accepted;
//   2. DNS (udp and tcp port 53) to the namespace's resolver is accepted;
//   3. each allowed range is accepted (the operator's allow wins over deny);
//   4. each denied range is rejected (ICMP administratively prohibited, so a
//      connect fails at once instead of timing out).
// Everything else leaves through the namespace's NAT. The namespace belongs
// to the host's user namespace, so no step can change these rules.
//
// Contract: pure; the same policy gives the same text.
#pragma once

#include <string>
#include <string_view>

#include "sandbox/address_policy.h"

namespace strata::sandbox {

inline constexpr std::string_view kEgressTable = "strata_egress";

std::string egress_ruleset(const AddressPolicy& policy, const IpAddress& resolver);

}  // namespace strata::sandbox
