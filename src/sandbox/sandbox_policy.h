// What the operator allows a build's sandbox (`strata serve` flags, carried to
// the builder in build.json under "sandbox"): the OCI runtime, the host id
// range the build's user namespace maps onto, per-build resource limits, and
// the network allow/deny lists for egress RUN steps and for the builder's own
// fetches (base images, ADD URLs).
//
// One type for both sides of build.json: the server writes it with
// sandbox_policy_json(), the builder reads it with parse_sandbox_policy(); a
// build.json without "sandbox" gets the defaults below, so a builder run by
// hand is sandboxed the same way.
//
// Contract: value type; pure functions; thread-safe. Parse errors are
// CONFIG_INVALID naming the field ("sandbox.limits.memory").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace strata::sandbox {

// Container ids 0..size-1 are host ids host_start..host_start+size-1 (uids
// and gids alike). As the operator's setting it is a pool that
// build_id_range() cuts into one range of 65536 per build running at once.
// The default pool (64 builds' worth) sits far above the ids Debian's useradd
// and /etc/subuid hand out (from 1000 and 100000) and below 2^31.
struct IdRange {
  std::uint32_t host_start = 1'000'000'000;
  std::uint32_t size = 64 * 65536;
  friend bool operator==(const IdRange&, const IdRange&) = default;
};

// The ids of the build run by worker `slot`: the slot's own 65536 ids of
// `pool` (so builds running at once share no host id: no signals, per-user
// kernel limits or files in common), or, when the pool holds fewer slots
// than there are workers, slot modulo what it holds.
IdRange build_id_range(const IdRange& pool, std::size_t slot);

// Limits of one build, shared by all its RUN steps. 0 means unlimited.
struct BuildLimits {
  std::int64_t pids = 4096;                              // processes and threads at once
  std::int64_t memory_bytes = std::int64_t{4} << 30;     // RAM (page cache included), no swap
  double cpus = 0;                                       // CPU time in cores (0: no cap; shares stay equal)
  std::int64_t disk_bytes = std::int64_t{10} << 30;      // the build's writable layers and scratch space
  std::int64_t step_log_bytes = std::int64_t{2} << 20;   // output kept per step; the rest is clipped
  std::int64_t build_log_bytes = std::int64_t{32} << 20; // output kept per build
  friend bool operator==(const BuildLimits&, const BuildLimits&) = default;
};

// Destinations as CIDRs ("10.1.0.0/16", "2001:db8::/32", a bare address) or
// host names (resolved when the build starts). Allow wins over deny, so an
// operator can open one private address inside a denied range.
struct NetworkPolicy {
  std::vector<std::string> egress_allow;
  std::vector<std::string> egress_deny;
  // Registries the builder may pull from besides strata's own, as
  // "host[:port]" (a bare host allows every port); "*" allows any registry
  // the address rules allow.
  std::vector<std::string> registry_allow;
  friend bool operator==(const NetworkPolicy&, const NetworkPolicy&) = default;
};

enum class RuntimeKind { runc, crun, runsc };

struct SandboxPolicy {
  RuntimeKind runtime = RuntimeKind::runc;
  std::string runtime_path;  // empty: the runtime's name, looked up in PATH
  IdRange ids;
  BuildLimits limits;
  NetworkPolicy network;
  friend bool operator==(const SandboxPolicy&, const SandboxPolicy&) = default;
};

std::string_view runtime_name(RuntimeKind kind);
Result<RuntimeKind> parse_runtime(std::string_view name);

// "100000:65536" -> IdRange. The range must hold container id 0..65535
// (size >= 65536) and stay below 2^32.
Result<IdRange> parse_id_range(std::string_view text);

// "4096", "512m", "4g", "10GiB", "1.5G" -> bytes (binary units; k/m/g/t with
// an optional "iB" or "B"). CONFIG_INVALID for anything else or a negative.
Result<std::int64_t> parse_byte_size(std::string_view text);

// "4 GiB", "512 MiB", "2.5 GiB": the limit as people read it in messages.
std::string format_byte_size(std::int64_t bytes);

// The JSON object build.json carries under "sandbox", and back.
std::string sandbox_policy_json(const SandboxPolicy& policy);
Result<SandboxPolicy> parse_sandbox_policy(std::string_view json);

}  // namespace strata::sandbox
