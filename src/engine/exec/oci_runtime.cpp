#include "engine/exec/oci_runtime.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "sandbox/runtime_binary.h"

namespace strata::engine::exec {
namespace fs = std::filesystem;
using sandbox::RuntimeKind;

namespace {

bool has_network_access(const RunSpec& spec) { return spec.network == NetworkAccess::egress; }

// gVisor's own sysfs in place of a bind of the host's /sys; no effective or
// permitted capabilities for a non-root user (see the header).
std::string gvisor_config(const std::string& config, const RunSpec& spec) {
  auto doc = nlohmann::json::parse(config);
  if (spec.user.uid != 0)
    for (const char* set : {"effective", "permitted"}) doc["process"]["capabilities"][set] = nlohmann::json::array();
  for (auto& mount : doc["mounts"])
    if (mount.value("destination", "") == "/sys" && mount.value("type", "") == "bind" &&
        mount.value("source", "") == "/sys")
      mount = {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
               {"options", {"nosuid", "noexec", "nodev", "ro"}}};
  return doc.dump(2);
}

Result<RuntimeInvocation> gvisor_invocation(RunSpec spec, const fs::path& rootfs) {
  if (has_network_access(spec) && spec.ids)
    return fail("RUNTIME_UNSUPPORTED",
                "runsc cannot run a RUN step with network access in a user namespace (its host network mode "
                "starts the sandbox inside that namespace, where it cannot set itself up); run builds that "
                "need egress with runc or crun");
  RuntimeInvocation invocation;
  invocation.run_flags = {has_network_access(spec) ? "--network=host" : "--network=none", "--overlay2=none"};
  bool tmp_mounted = std::any_of(spec.mounts.begin(), spec.mounts.end(),
                                 [](const BindMount& m) { return m.destination == "/tmp"; });
  std::error_code ec;
  auto tmp = fs::symlink_status(rootfs / "tmp", ec);
  if (!tmp_mounted && fs::is_directory(tmp))
    spec.mounts.push_back({.source = rootfs / "tmp", .destination = "/tmp", .readonly = false});
  invocation.mount_points = rootfs_mount_points(spec);
  if (!tmp_mounted && !fs::exists(tmp)) invocation.mount_points.emplace_back("/tmp");
  invocation.config = gvisor_config(runtime_spec_json(spec, rootfs), spec);
  return invocation;
}

}  // namespace

Result<OciRuntime> OciRuntime::locate(RuntimeKind kind, std::string_view runtime_path) {
  auto binary = sandbox::find_runtime_binary(kind, runtime_path);
  if (!binary) return std::unexpected(binary.error());
  return OciRuntime(kind, std::move(*binary));
}

std::vector<std::string> OciRuntime::command(const fs::path& state_dir, const std::vector<std::string>& flags) const {
  std::vector<std::string> argv = {binary_.string(), "--root", state_dir.string()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

Result<RuntimeInvocation> OciRuntime::invocation(const RunSpec& spec, const fs::path& rootfs) const {
  if (kind_ == RuntimeKind::runsc) return gvisor_invocation(spec, rootfs);
  return RuntimeInvocation{{}, runtime_spec_json(spec, rootfs), rootfs_mount_points(spec)};
}

}  // namespace strata::engine::exec
