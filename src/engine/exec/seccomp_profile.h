// The seccomp filter every RUN step gets: an allowlist equivalent to
// Docker's default profile for the capabilities a step has (runtime_spec.h:
// no CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_MODULE, CAP_SYS_TIME, ...).
// Everything not allowed fails with EPERM: namespace creation (unshare,
// setns, clone with CLONE_NEW*), mount and the new mount API, keyctl/add_key/
// request_key, bpf, perf_event_open, module loading, clock setting, reboot,
// swapon, kexec, userfaultfd, AF_VSOCK sockets; clone3 fails with ENOSYS so
// that libc falls back to clone, whose flags the filter can inspect.
//
// The profile is data, kept in one place (seccomp_profile.cpp); this header
// only renders it as the OCI runtime spec's linux.seccomp object.
// Pure; thread-safe.
#pragma once

#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace strata::engine::exec {

// linux.seccomp for `architecture` as Go/OCI names it ("amd64", "arm64");
// other architectures get the same rules with only their native ABI.
nlohmann::json seccomp_profile(std::string_view architecture);

}  // namespace strata::engine::exec
