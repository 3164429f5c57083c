#include "engine/exec/runtime_spec.h"

#include <sys/resource.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "engine/exec/seccomp_profile.h"
#include "engine/remote/platform.h"

namespace strata::engine::exec {
namespace {

using nlohmann::json;

constexpr std::string_view kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Docker's default set without NET_RAW (raw and packet sockets), MKNOD and
// AUDIT_WRITE, as podman leaves them out. They are capabilities in the step's
// user namespace: over the host they give nothing.
const std::vector<std::string> kCapabilities = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP",      "CAP_SETPCAP",          "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",                 "CAP_KILL",
};

// runc's defaults (`runc spec`), and Docker's powercap mask (energy counters
// are a side channel, CVE-2020-8694).
const std::vector<std::string> kMaskedPaths = {
    "/proc/acpi",        "/proc/asound",      "/proc/kcore",       "/proc/keys",    "/proc/latency_stats",
    "/proc/timer_list",  "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    "/sys/devices/virtual/powercap",
};
const std::vector<std::string> kReadonlyPaths = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

json kernel_mount(std::string_view destination, std::string_view type, std::string_view source,
                  std::vector<std::string> options) {
  return {{"destination", destination}, {"type", type}, {"source", source}, {"options", std::move(options)}};
}

json mounts(const RunSpec& spec) {
  json list = json::array({
      kernel_mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      kernel_mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      kernel_mount("/dev/pts", "devpts", "devpts",
                   {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      kernel_mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      kernel_mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      // A step's user namespace does not own the network namespace the
      // builder made for it, so the kernel refuses a sysfs mount: the host's
      // /sys is bound read-only instead (recursively: a user namespace may
      // not uncover what the host mounted below it), as rootless podman does.
      kernel_mount("/sys", "bind", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}),
      kernel_mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
  for (const auto& bind : spec.mounts)
    list.push_back(kernel_mount(bind.destination, "bind", bind.source.string(),
                                {"rbind", "nosuid", "nodev", bind.readonly ? "ro" : "rw"}));
  return list;
}

// Raising a hard limit needs CAP_SYS_RESOURCE, which a builder may lack
// (runc then fails to start the container), so never ask above our own.
std::uint64_t open_files_limit(const RunSpec& spec) {
  rlimit own{};
  if (::getrlimit(RLIMIT_NOFILE, &own) != 0 || own.rlim_max == RLIM_INFINITY) return spec.open_files_limit;
  return std::min<std::uint64_t>(spec.open_files_limit, own.rlim_max);
}

json process(const RunSpec& spec) {
  std::vector<std::string> env = spec.env;
  if (std::none_of(env.begin(), env.end(), [](const auto& v) { return v.starts_with("PATH="); }))
    env.emplace_back(kDefaultPath);
  json user = {{"uid", spec.user.uid}, {"gid", spec.user.gid}, {"umask", 022}};
  if (!spec.user.additional_gids.empty()) user["additionalGids"] = spec.user.additional_gids;
  return {
      {"terminal", false},
      {"user", std::move(user)},
      {"args", spec.args},
      {"env", std::move(env)},
      {"cwd", spec.cwd},
      {"capabilities",
       {{"bounding", kCapabilities}, {"effective", kCapabilities}, {"permitted", kCapabilities}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"},
                                {"soft", open_files_limit(spec)},
                                {"hard", open_files_limit(spec)}}})},
      {"noNewPrivileges", true},
      // Under memory pressure on the host, a build's processes go first.
      {"oomScoreAdj", 1000},
  };
}

json id_mappings(const sandbox::IdRange& ids) {
  return json::array({{{"containerID", 0}, {"hostID", ids.host_start}, {"size", ids.size}}});
}

json linux_section(const RunSpec& spec) {
  json namespaces = json::array(
      {{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}, {{"type", "cgroup"}}});
  if (spec.network_namespace.empty()) namespaces.push_back({{"type", "network"}});  // runc brings up lo
  else namespaces.push_back({{"type", "network"}, {"path", spec.network_namespace.string()}});
  if (spec.ids) namespaces.push_back({{"type", "user"}});

  // Deny all devices; runc adds its default allow list (null, zero, full,
  // random, urandom, tty, ptmx).
  json resources = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};

  json section = {
      {"namespaces", std::move(namespaces)},
      {"resources", std::move(resources)},
      {"maskedPaths", kMaskedPaths},
      {"readonlyPaths", kReadonlyPaths},
      {"seccomp", seccomp_profile(remote::host_platform().architecture)},
  };
  if (spec.ids) {
    section["uidMappings"] = id_mappings(*spec.ids);
    section["gidMappings"] = id_mappings(*spec.ids);
  }
  if (!spec.cgroups_path.empty()) section["cgroupsPath"] = spec.cgroups_path;
  return section;
}

}  // namespace

std::vector<std::string> shell_form_args(const std::vector<std::string>& shell, std::string_view command) {
  std::vector<std::string> args = shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : shell;
  args.emplace_back(command);
  return args;
}

std::string runtime_spec_json(const RunSpec& spec, const std::filesystem::path& rootfs) {
  json config = {
      {"ociVersion", "1.0.2"},
      {"process", process(spec)},
      {"root", {{"path", rootfs.string()}, {"readonly", false}}},
      {"hostname", spec.hostname},
      {"mounts", mounts(spec)},
      {"linux", linux_section(spec)},
  };
  return config.dump(2);
}

std::vector<std::string> rootfs_mount_points(const RunSpec& spec) {
  std::vector<std::string> points = {"/proc", "/dev", "/sys"};
  for (const auto& bind : spec.mounts) points.push_back(bind.destination);
  return points;
}

}  // namespace strata::engine::exec
