// The cgroup that bounds one build: "strata/<name>" at the root of the host's
// cgroup hierarchies, holding the build's limits (sandbox::BuildLimits):
// processes and threads, memory without swap, CPU time. Every RUN step's
// container goes in a child of it (step_path() is runc's cgroupsPath), so the
// limits bound the whole build, not each step; the builder process itself
// stays outside. Builds have the default CPU weight, so without a CPU cap
// they share the CPU equally.
//
// cgroup v1 (one hierarchy per controller under /sys/fs/cgroup, hybrid hosts
// included) and v2 (/sys/fs/cgroup a cgroup2 mount, as runc decides) are
// both handled; CgroupHierarchy::detect() reads which from mountinfo.
//
// What the kernel did to the build: counters() snapshots the events the
// build's limits caused (out-of-memory kills, the process limit reached), and
// hit_since() compares a snapshot taken before a step with now. The kernel
// counts these in the step's own cgroup on v1, and runc removes that one when
// the step ends, so on v1 the build's cgroup carries its own probes: an OOM
// eventfd on memory.oom_control and the high-water mark pids.peak (which
// cannot go down: after one step reached the process limit, later steps on
// v1 are not told apart; kernels without pids.peak report no pids hits there).
//
// Lifetime: a build holds <lock dir>/<name>.lock (flock) while its cgroup
// exists. create() first sweeps the cgroups under strata/ whose lock nobody
// holds (their builder died), so a crash leaves nothing behind for long and
// concurrent builders, whatever their work dirs, never lose each other's
// cgroups. The destructor removes the build's cgroup in every hierarchy (runc
// also creates strata/<name> in the ones the build does not limit).
//
// Contract: needs root (writes under /sys/fs/cgroup). Not thread-safe; owned by
// one build. Errors: CGROUP (a cgroup cannot be made or limited; the message
// names the file), CGROUP_BUSY (another builder holds the same name).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"
#include "sandbox/sandbox_policy.h"

namespace strata::engine::exec {

struct CgroupHierarchy {
  enum class Version { v1, v2 };
  Version version = Version::v1;
  // v2: the cgroup2 mount. v1: its parent (/sys/fs/cgroup), unused beyond that.
  std::filesystem::path root;
  // Every hierarchy a runtime puts a container's cgroup in (v1: each
  // controller's and name=systemd's mount, plus the cgroup2 mount of a hybrid
  // host; v2: the root): where a build's cgroup is removed from.
  std::vector<std::filesystem::path> mounts;
  // v1: the mounts holding these controllers (empty if not mounted).
  std::filesystem::path memory, pids, cpu;

  // The host's, from /proc/self/mountinfo.
  static Result<CgroupHierarchy> detect();
  // From the text of a mountinfo file; CGROUP if it shows no usable cgroup.
  static Result<CgroupHierarchy> from_mountinfo(std::string_view mountinfo);
};

// Where builds' lock files live: host-wide, like the cgroups themselves.
inline const std::filesystem::path kCgroupLockDir = "/run/strata/cgroups";

// What the build's limits caused so far. Opaque to callers: compare two
// snapshots with BuildCgroup::hit_since().
struct LimitCounters {
  std::uint64_t oom_kills = 0;    // v2 memory.events oom_kill; v1 OOM notifications
  std::uint64_t pids_refused = 0;  // pids.events max (the build's own, where the kernel counts it there)
  std::int64_t pids_peak = 0;      // pids.peak, where the kernel has it
};

struct LimitsHit {
  bool memory = false;  // a process was killed for lack of memory
  bool pids = false;    // the process limit was reached
};

class BuildCgroup {
 public:
  // Makes strata/<name> ([A-Za-z0-9_.-], up to 128 characters) with `limits`
  // (0: that limit is off), after sweeping leftovers.
  static Result<BuildCgroup> create(const CgroupHierarchy& hierarchy, std::string_view name,
                                    const sandbox::BuildLimits& limits,
                                    const std::filesystem::path& lock_dir = kCgroupLockDir);
  ~BuildCgroup();
  BuildCgroup(BuildCgroup&&) noexcept;
  BuildCgroup& operator=(BuildCgroup&&) = delete;
  BuildCgroup(const BuildCgroup&) = delete;

  // runc's cgroupsPath for a step's container `id`: "/strata/<name>/<id>".
  std::string step_path(std::string_view id) const;

  LimitCounters counters();
  LimitsHit hit_since(const LimitCounters& before);

  const sandbox::BuildLimits& limits() const { return limits_; }

 private:
  BuildCgroup(CgroupHierarchy hierarchy, std::string name, sandbox::BuildLimits limits, UniqueFd lock,
              std::filesystem::path lock_path);
  Result<void> apply_limits();
  Result<void> apply_v1();
  Result<void> apply_v2();
  void remove();

  CgroupHierarchy hierarchy_;
  std::string name_;
  sandbox::BuildLimits limits_;
  UniqueFd lock_;
  std::filesystem::path lock_path_;
  UniqueFd oom_events_;  // v1: eventfd counting OOMs under the build's memory limit
  UniqueFd oom_control_;  // v1: the memory.oom_control it listens on
  std::uint64_t oom_seen_ = 0;
};

// Removes strata/<name> cgroups whose builder is gone (their lock is free).
// create() calls it; exposed for tests.
void sweep_build_cgroups(const CgroupHierarchy& hierarchy, const std::filesystem::path& lock_dir = kCgroupLockDir);

}  // namespace strata::engine::exec
