// The OCI runtime spec (runc's config.json) for one RUN step, with the
// isolation of a rootless build container: its own user namespace (container
// ids 0.. are an unprivileged host range, see id_mapping.h), mount, pid, ipc,
// uts and cgroup namespaces; the network namespace the builder made for the
// build (build_network.h; never the host's), or a fresh one with only
// loopback; Docker's default capabilities minus NET_RAW, MKNOD and
// AUDIT_WRITE in the bounding, effective and permitted sets (none ambient, so
// a non-root user keeps none across exec); no_new_privs; the seccomp
// allowlist of seccomp_profile.h; runc's default masked and read-only paths;
// /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, read-only /sys and
// /sys/fs/cgroup; a cgroup under the build's (build_cgroup.h: the limits are
// the build's, not the step's); an OOM score that makes the host's OOM killer
// take build processes first.
//
// Contract: thread-safe; the spec depends only on the arguments and the
// builder's own RLIMIT_NOFILE. The caller resolves everything the
// spec needs (user names to ids, the shell, variable expansion) beforehand.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/sandbox_policy.h"

namespace strata::engine::exec {

// What a step may reach: only its own loopback, or the outside through the
// build's NAT and firewall (build_network.h). Never the host's network.
enum class NetworkAccess { isolated, egress };

// A host file or directory bound into the container: secrets (read-only),
// cache mounts (read-write), the build's /etc/hosts, /etc/hostname and
// /etc/resolv.conf (read-only).
struct BindMount {
  std::filesystem::path source;  // absolute host path
  std::string destination;       // absolute path in the container
  bool readonly = true;
};

struct ProcessUser {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
};

struct RunSpec {
  std::vector<std::string> args;  // argv; see shell_form_args()
  std::vector<std::string> env;   // "KEY=value"; a default PATH is added if missing
  std::string cwd = "/";          // absolute
  ProcessUser user;
  NetworkAccess network = NetworkAccess::isolated;
  // A network namespace made for the build on the host (owned by the host's
  // user namespace, so the step cannot change its interfaces or firewall);
  // empty: runc makes a fresh one with only lo (executor tests only).
  std::filesystem::path network_namespace;
  std::vector<BindMount> mounts;
  std::string hostname = "strata";
  // RLIMIT_NOFILE, soft and hard; capped at the builder's own hard limit.
  std::uint64_t open_files_limit = 1048576;
  // The user namespace: container ids 0..size-1 are host ids
  // host_start..; nullopt runs the step in the host's (tests of the executor
  // without idmapped rootfs only).
  std::optional<sandbox::IdRange> ids;
  // cgroup for the container, e.g. "/strata/<id>"; empty lets runc choose.
  std::string cgroups_path;
};

// The argv of a shell-form RUN: the stage's SHELL (["/bin/sh", "-c"] when
// empty) followed by the command text.
std::vector<std::string> shell_form_args(const std::vector<std::string>& shell, std::string_view command);

// config.json for running `spec` on `rootfs` (the step's merged dir, writable).
std::string runtime_spec_json(const RunSpec& spec, const std::filesystem::path& rootfs);

// Paths runc mounts directly on the root filesystem, creating them there if
// missing: /proc, /dev, /sys and every BindMount destination.
std::vector<std::string> rootfs_mount_points(const RunSpec& spec);

}  // namespace strata::engine::exec
