// The OCI runtime that runs RUN steps - runc, crun or runsc (gVisor) - and
// the one place that knows how they differ. All three take runc's command
// line (`--root <dir> run --bundle <dir> <id>`, `kill <id> KILL`,
// `delete --force <id>`) and read the config.json of runtime_spec.h. What
// differs, and why:
//
//  - runc, crun: nothing. (crun refuses to run at all on a cgroup v1/v2
//    hybrid host whose cgroup2 hierarchy holds a controller; scripts/setup.sh
//    gives such a host's hugetlb controller its v1 hierarchy.)
//  - runsc runs the step on gVisor's own kernel (the Sentry), so:
//    * network: an isolated step gets gVisor's own loopback-only stack
//      (--network=none); a step with network access gets --network=host: the
//      Sentry's sockets are host sockets in the spec's network namespace.
//      gVisor's full stack (--network=sandbox) moves the namespace's
//      addresses into the sandbox, so the build's next step would find none
//      (and runsc before release-20240807 refuses every namespace on
//      kernels newer than 6.6, taking each for the root one: gVisor #10704).
//    * in host network mode runsc puts the sandbox itself into the spec's
//      user namespace, where it cannot set up its chroot (host root is not
//      mapped): a step with network access and a user namespace is refused
//      with RUNTIME_UNSUPPORTED rather than failing obscurely.
//    * the spec's seccomp profile is left to runsc, which ignores it: the
//      step's system calls never reach the host kernel (the Sentry serves
//      them, itself under gVisor's own host filter). runsc's --oci-seccomp
//      would apply it in the Sentry, but answers every ERRNO rule with EPERM
//      (errnoRet is ignored, to this day), so Docker's `clone3 -> ENOSYS`
//      rule would fail every thread glibc >= 2.34 creates.
//    * --overlay2=none: the step's writes go to the rootfs on the host (the
//      snapshot's upper dir, which becomes the layer), never to an overlay
//      in gVisor's memory (the default of newer releases).
//    * /tmp: gVisor mounts a tmpfs over an empty or missing /tmp, so files
//      a step leaves there would be missing from its layer. An existing /tmp
//      directory is bound over itself instead. A missing one cannot stay
//      missing (any mount there creates it): the step sees gVisor's tmpfs,
//      whose files are not kept, and the stub is removed after the run, so
//      `RUN mkdir /tmp` in an image without /tmp fails under runsc.
//    * /sys: gVisor's own sysfs, never a bind of the host's /sys (gVisor
//      would show the host's devices and cgroups through its file proxy).
//    * a non-root user gets no effective or permitted capabilities: runsc
//      starts the step's first process with the spec's sets as they are,
//      where runc's execve clears them for a non-root user; the shell of
//      `USER nobody` + `RUN echo x >> /etc/passwd` would otherwise keep
//      CAP_DAC_OVERRIDE and succeed.
//    * the platform is runsc's default, which never needs KVM (ptrace, or
//      systrap in releases from 2023); the uid/gid mappings stay: runsc's
//      file proxy runs in the user namespace, so files get the same host ids
//      as under runc.
//
// Contract: value type; thread-safe. locate() fails with RUNTIME_NOT_FOUND
// when the binary is missing (sandbox/runtime_binary.h).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "engine/exec/runtime_spec.h"
#include "sandbox/sandbox_policy.h"

namespace strata::engine::exec {

// How one step is started under a runtime.
struct RuntimeInvocation {
  std::vector<std::string> run_flags;     // global flags of `run`, after --root
  std::string config;                     // the bundle's config.json
  std::vector<std::string> mount_points;  // paths the runtime may create on the rootfs
};

class OciRuntime {
 public:
  // The runtime at `runtime_path`, or `kind`'s name looked up in PATH.
  static Result<OciRuntime> locate(sandbox::RuntimeKind kind, std::string_view runtime_path = {});

  sandbox::RuntimeKind kind() const { return kind_; }
  const std::filesystem::path& binary() const { return binary_; }

  // The argv of a runtime command up to its subcommand: the binary, --root
  // `state_dir`, then `flags`.
  std::vector<std::string> command(const std::filesystem::path& state_dir,
                                   const std::vector<std::string>& flags = {}) const;

  // Flags, config.json and mount points for running `spec` on `rootfs`.
  // RUNTIME_UNSUPPORTED if this runtime cannot run such a step (see above).
  Result<RuntimeInvocation> invocation(const RunSpec& spec, const std::filesystem::path& rootfs) const;

 private:
  OciRuntime(sandbox::RuntimeKind kind, std::filesystem::path binary) : kind_(kind), binary_(std::move(binary)) {}

  sandbox::RuntimeKind kind_;
  std::filesystem::path binary_;
};

}  // namespace strata::engine::exec
