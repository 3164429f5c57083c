#include "cli/sandbox_flags.h"

#include "sandbox/address_policy.h"

#include <CLI/CLI.hpp>
#include <charconv>

namespace strata::cli {
namespace {

const sandbox::SandboxPolicy kDefaults;

std::string default_size(std::int64_t bytes) { return bytes == 0 ? "0 (unlimited)" : sandbox::format_byte_size(bytes); }

Result<void> read_size(const std::string& text, const char* flag, std::int64_t& out) {
  if (text.empty()) return {};
  auto bytes = sandbox::parse_byte_size(text);
  if (!bytes) return fail("CONFIG_INVALID", std::string(flag) + ": " + bytes.error().message);
  out = *bytes;
  return {};
}

}  // namespace

void add_sandbox_flags(CLI::App& cmd, SandboxFlags& flags) {
  const auto& limits = kDefaults.limits;
  cmd.add_option("--runtime", flags.runtime, "OCI runtime for RUN steps: runc, crun or runsc (gVisor)")
      ->envname("STRATA_RUNTIME")
      ->capture_default_str();
  cmd.add_option("--runtime-path", flags.runtime_path, "path of the runtime binary (default: looked up in PATH)")
      ->envname("STRATA_RUNTIME_PATH");
  cmd.add_option("--userns-range", flags.userns_range,
                 "host ids that container ids 0.. map onto, <first>:<count> (default " +
                     std::to_string(kDefaults.ids.host_start) + ":" + std::to_string(kDefaults.ids.size) + ")")
      ->envname("STRATA_USERNS_RANGE");
  cmd.add_option("--build-pids", flags.pids,
                 "processes and threads a build may run at once (default " + std::to_string(limits.pids) + ", 0: unlimited)")
      ->envname("STRATA_BUILD_PIDS");
  cmd.add_option("--build-memory", flags.memory, "memory of a build's RUN steps (default " + default_size(limits.memory_bytes) + ")")
      ->envname("STRATA_BUILD_MEMORY");
  cmd.add_option("--build-cpus", flags.cpus, "CPU time a build may use, in cores (default 0: no cap, equal shares)")
      ->envname("STRATA_BUILD_CPUS");
  cmd.add_option("--build-disk", flags.disk,
                 "disk a build may write: its layers and scratch space (default " + default_size(limits.disk_bytes) + ")")
      ->envname("STRATA_BUILD_DISK");
  cmd.add_option("--step-log-limit", flags.step_log,
                 "output kept per build step; the rest is clipped (default " + default_size(limits.step_log_bytes) + ")")
      ->envname("STRATA_STEP_LOG_LIMIT");
  cmd.add_option("--build-log-limit", flags.build_log,
                 "output kept per build (default " + default_size(limits.build_log_bytes) + ")")
      ->envname("STRATA_BUILD_LOG_LIMIT");
  cmd.add_option("--egress-allow", flags.egress_allow,
                 "CIDR or host name egress RUN steps may reach although a deny rule covers it (repeatable)")
      ->envname("STRATA_EGRESS_ALLOW")
      ->delimiter(',');
  cmd.add_option("--egress-deny", flags.egress_deny,
                 "CIDR or host name egress RUN steps may not reach, beyond the built-in private ranges (repeatable)")
      ->envname("STRATA_EGRESS_DENY")
      ->delimiter(',');
  cmd.add_option("--registry-allow", flags.registry_allow,
                 "registry host[:port] builds may pull base images from besides this one; * for any (repeatable)")
      ->envname("STRATA_REGISTRY_ALLOW")
      ->delimiter(',');
}

Result<sandbox::SandboxPolicy> sandbox_policy_from(const SandboxFlags& flags) {
  sandbox::SandboxPolicy policy;
  auto runtime = sandbox::parse_runtime(flags.runtime);
  if (!runtime) return fail("CONFIG_INVALID", "--runtime must be runc, crun or runsc");
  policy.runtime = *runtime;
  policy.runtime_path = flags.runtime_path;
  if (!flags.userns_range.empty()) {
    auto range = sandbox::parse_id_range(flags.userns_range);
    if (!range) return fail("CONFIG_INVALID", "--userns-range: " + range.error().message);
    policy.ids = *range;
  }
  auto& limits = policy.limits;
  if (!flags.pids.empty()) {
    auto [end, ec] = std::from_chars(flags.pids.data(), flags.pids.data() + flags.pids.size(), limits.pids);
    if (ec != std::errc() || end != flags.pids.data() + flags.pids.size() || limits.pids < 0)
      return fail("CONFIG_INVALID", "--build-pids must be a non-negative integer");
  }
  if (!flags.cpus.empty()) {
    auto [end, ec] = std::from_chars(flags.cpus.data(), flags.cpus.data() + flags.cpus.size(), limits.cpus);
    if (ec != std::errc() || end != flags.cpus.data() + flags.cpus.size() || limits.cpus < 0)
      return fail("CONFIG_INVALID", "--build-cpus must be a non-negative number of cores");
  }
  for (auto [text, flag, field] : {std::tuple{&flags.memory, "--build-memory", &limits.memory_bytes},
                                   std::tuple{&flags.disk, "--build-disk", &limits.disk_bytes},
                                   std::tuple{&flags.step_log, "--step-log-limit", &limits.step_log_bytes},
                                   std::tuple{&flags.build_log, "--build-log-limit", &limits.build_log_bytes}})
    if (auto ok = read_size(*text, flag, *field); !ok) return std::unexpected(ok.error());
  policy.network = {flags.egress_allow, flags.egress_deny, flags.registry_allow};
  if (auto valid = sandbox::check_network_policy(policy.network); !valid)
    return fail("CONFIG_INVALID", "--" + valid.error().message);
  return policy;
}

}  // namespace strata::cli
