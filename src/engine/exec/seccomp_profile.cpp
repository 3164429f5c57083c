#include "engine/exec/seccomp_profile.h"

#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace strata::engine::exec {
namespace {

using nlohmann::json;

// System calls a build step may always make. Names unknown to the runtime's
// libseccomp (another architecture's, or newer than it) are skipped by it.
constexpr std::string_view kAllowed[] = {
    // files and directories
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod",
    "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
    "flock", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
    "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64", "getxattr", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
    "lsetxattr", "lstat", "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat",
    "open", "openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "removexattr", "rename", "renameat", "renameat2", "rmdir",
    "sendfile", "sendfile64", "setxattr", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
    "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask", "unlink",
    "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice", "write", "writev",
    // notification, polling, asynchronous I/O
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "fanotify_mark", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup",
    "ioctl", "pipe", "pipe2", "poll", "ppoll", "ppoll_time64", "pselect6", "pselect6_time64", "select",
    "_newselect", "signalfd", "signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64",
    // memory
    "brk", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock", "mlock2", "mlockall",
    "mmap", "mmap2", "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "remap_file_pages",
    // processes, threads, signals, scheduling
    "alarm", "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "futex", "futex_time64",
    "futex_waitv", "get_robust_list", "get_thread_area", "getcpu", "getegid", "getegid32", "geteuid",
    "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpgid", "getpgrp", "getpid",
    "getppid", "getpriority", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage",
    "getsid", "gettid", "getuid", "getuid32", "ioprio_get", "ioprio_set", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "pause", "pidfd_open", "pidfd_send_signal", "prctl",
    "prlimit64", "process_mrelease", "restart_syscall", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "set_robust_list", "set_thread_area", "set_tid_address",
    "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
    "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setuid", "setuid32", "sigaltstack",
    "sigprocmask", "sigreturn", "tgkill", "tkill", "ugetrlimit", "vfork", "wait4", "waitid", "waitpid",
    // IPC
    "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
    // sockets (socket itself is conditional, below)
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recv",
    "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt",
    "shutdown", "socketcall", "socketpair",
    // time (reading it; setting it needs CAP_SYS_TIME)
    "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "gettimeofday", "nanosleep", "time",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "times",
    // system information
    "getrandom", "sysinfo", "uname",
    // debugging one's own children (kernel 4.8+ closed the seccomp bypass);
    // chroot, for which a step holds CAP_SYS_CHROOT
    "ptrace", "process_vm_readv", "process_vm_writev", "chroot",
};

// Per-architecture calls (Docker's default allows these on its arches).
struct ArchCalls {
  std::string_view architecture;
  std::vector<std::string_view> scmp_arches;  // native first, then compat ABIs
  std::vector<std::string_view> calls;
};
const std::array<ArchCalls, 2> kArchitectures = {{
    {"amd64", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}, {"arch_prctl", "modify_ldt"}},
    {"arm64",
     {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
     {"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"}},
}};

// personality(2) personas a step may switch to: PER_LINUX, PER_LINUX32,
// UNAME26, PER_LINUX32|UNAME26, and the query 0xffffffff.
constexpr std::uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// clone(2) flags that create namespaces (CLONE_NEWNS, NEWCGROUP, NEWUTS,
// NEWIPC, NEWUSER, NEWPID, NEWNET): a clone with any of them is refused.
constexpr std::uint64_t kNamespaceFlags = 0x7E020000;
constexpr std::uint64_t kAfVsock = 40;
constexpr int kEperm = 1, kEnosys = 38;

json allow(std::vector<std::string_view> names) { return {{"names", std::move(names)}, {"action", "SCMP_ACT_ALLOW"}}; }

json allow_if(std::string_view name, std::uint64_t value, std::string_view op, std::uint64_t mask = 0) {
  json arg = {{"index", 0}, {"value", value}, {"op", op}};
  if (op == "SCMP_CMP_MASKED_EQ") arg = {{"index", 0}, {"value", mask}, {"valueTwo", value}, {"op", op}};
  return {{"names", {name}}, {"action", "SCMP_ACT_ALLOW"}, {"args", json::array({arg})}};
}

}  // namespace

nlohmann::json seccomp_profile(std::string_view architecture) {
  json rules = json::array();
  rules.push_back(allow({std::begin(kAllowed), std::end(kAllowed)}));
  json arches = json::array();
  for (const auto& arch : kArchitectures) {
    if (arch.architecture != architecture) continue;
    arches = arch.scmp_arches;
    rules.push_back(allow(arch.calls));
  }
  rules.push_back(allow_if("socket", kAfVsock, "SCMP_CMP_NE"));
  for (auto persona : kPersonalities) rules.push_back(allow_if("personality", persona, "SCMP_CMP_EQ"));
  // (flags & kNamespaceFlags) == 0
  rules.push_back(allow_if("clone", 0, "SCMP_CMP_MASKED_EQ", kNamespaceFlags));
  rules.push_back({{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kEnosys}});
  json profile = {{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", kEperm}, {"syscalls", std::move(rules)}};
  if (!arches.empty()) profile["architectures"] = std::move(arches);
  return profile;
}

}  // namespace strata::engine::exec
