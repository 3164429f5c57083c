// `strata serve` flags for the build sandbox (sandbox/sandbox_policy.h), each
// with an environment equivalent: --runtime runc|crun|runsc (STRATA_RUNTIME),
// --runtime-path (STRATA_RUNTIME_PATH), --userns-range <host id>:<count>
// (STRATA_USERNS_RANGE), --build-pids, --build-memory, --build-cpus,
// --build-disk, --step-log-limit, --build-log-limit (STRATA_BUILD_PIDS, ...),
// and the repeatable --egress-allow, --egress-deny, --registry-allow
// (STRATA_EGRESS_ALLOW, ... as comma lists).
#pragma once

#include <string>
#include <vector>

#include "common/error.h"
#include "sandbox/sandbox_policy.h"

namespace CLI {
class App;
}

namespace strata::cli {

struct SandboxFlags {
  std::string runtime = "runc";
  std::string runtime_path;
  std::string userns_range;  // empty: the default range
  std::string pids, memory, cpus, disk, step_log, build_log;  // empty: the defaults
  std::vector<std::string> egress_allow, egress_deny, registry_allow;
};

void add_sandbox_flags(CLI::App& command, SandboxFlags& flags);

// The policy these flags describe; CONFIG_INVALID naming the flag otherwise.
Result<sandbox::SandboxPolicy> sandbox_policy_from(const SandboxFlags& flags);

}  // namespace strata::cli
