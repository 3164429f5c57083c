// Runs one RUN step's process in a container of an OCI runtime with runc's
// command line (runc, crun or runsc; oci_runtime.h) and streams its output.
//
// run() writes a bundle (the runtime's config.json) to a fresh dir, starts
// `<runtime> --root <state dir> [flags] run --bundle <dir> <id>` in the
// foreground without a terminal, and hands every line of the container's
// stdout and stderr to the caller as it arrives. When the deadline passes or
// the cancel token fires it kills the container (`<runtime> kill <id> KILL`,
// repeated until the runtime exits; the runtime itself is killed if it does
// not within the grace period). Whatever happened, it then runs
// `<runtime> delete --force <id>` and removes the bundle and the mount stubs
// the runtime left on the rootfs (mount_stubs.h), so no container, cgroup or
// stub outlives the call. Unmounting the rootfs is the snapshotter's job.
//
// Contract: thread-safe; concurrent runs need distinct ids. Needs root.
// Returns the process's exit status (128 + signal number if a signal ended
// it). Errors: RUN_TIMEOUT, RUN_CANCELLED, RUN_INVALID (bad id or rootfs),
// RUNTIME_UNSUPPORTED (a step this runtime cannot run), RUNTIME (the runtime
// could not be started) or IO. A process that the runtime cannot start
// (missing binary, bad cwd) is reported by the runtime on stderr with a
// non-zero exit status, like a failing command.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <stop_token>
#include <string_view>

#include "common/error.h"
#include "engine/exec/id_mapping.h"
#include "engine/exec/oci_runtime.h"
#include "engine/exec/runtime_spec.h"

namespace strata::engine::exec {

enum class OutputStream { out, err };

// One line of output without its '\n'. Called from run()'s thread only.
// Lines longer than 64 KiB are delivered in pieces.
using OutputSink = std::function<void(OutputStream, std::string_view line)>;

struct RunControl {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::stop_token cancel;
};

class OciRuntimeExecutor {
 public:
  struct Options {
    OciRuntime runtime;
    std::filesystem::path state_dir;         // the runtime's --root
    std::filesystem::path bundle_dir;        // parent of the per-run bundle dirs
    std::chrono::milliseconds kill_grace{10000};  // after `kill`, before killing the runtime
    // The build's user namespace: set, every run gets it (RunSpec::ids) and
    // its bind mounts are presented through idmapped views, so container
    // root owns what host root owns on disk. Borrowed; must outlive runs.
    const IdMapping* id_mapping = nullptr;
    // With a user namespace: a dir (mode 0711 up to /) where the rootfs and
    // the bind mounts' stand-ins are put for the run, since the runtime
    // reaches them by path as container root.
    std::filesystem::path rootfs_binds;
  };

  explicit OciRuntimeExecutor(Options options) : options_(std::move(options)) {}

  const OciRuntime& runtime() const { return options_.runtime; }

  // Runs `spec` in container `id` ([A-Za-z0-9_+.-]) on `rootfs`.
  Result<int> run(std::string_view id, const RunSpec& spec, const std::filesystem::path& rootfs,
                  const OutputSink& output, const RunControl& control) const;

 private:
  Options options_;
};

}  // namespace strata::engine::exec
