// Runs one RUN step's process in a runc container and streams its output.
//
// run() writes a bundle (config.json from runtime_spec.h) to a fresh dir,
// starts `runc --root <state dir> run --bundle <dir> <id>` in the foreground
// without a terminal, and hands every line of the container's stdout and
// stderr to the caller as it arrives. When the deadline passes or the cancel
// token fires it kills the container (`runc kill <id> KILL`, repeated until
// runc exits; runc itself is killed if it does not within the grace period).
// Whatever happened, it then runs `runc delete --force <id>` and removes the
// bundle and the mount stubs runc left on the rootfs (mount_stubs.h), so no
// container, cgroup or stub outlives the call. Unmounting the rootfs is the
// snapshotter's job.
//
// Contract: thread-safe; concurrent runs need distinct ids. Needs root.
// Returns the process's exit status (128 + signal number if a signal ended
// it). Errors: RUN_TIMEOUT, RUN_CANCELLED, RUN_INVALID (bad id or rootfs),
// RUNTIME (runc could not be started) or IO. A process that runc cannot start
// (missing binary, bad cwd) is reported by runc on stderr with a non-zero
// exit status, like a failing command.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <stop_token>
#include <string_view>

#include "common/error.h"
#include "engine/exec/id_mapping.h"
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

class RuncExecutor {
 public:
  struct Options {
    std::filesystem::path runc = "runc";     // looked up in PATH if relative
    std::filesystem::path state_dir;         // runc --root
    std::filesystem::path bundle_dir;        // parent of the per-run bundle dirs
    std::chrono::milliseconds kill_grace{10000};  // after `runc kill`, before killing runc
    // The build's user namespace: set, every run gets it (RunSpec::ids) and
    // its bind mounts are presented through idmapped views, so container
    // root owns what host root owns on disk. Borrowed; must outlive runs.
    const IdMapping* id_mapping = nullptr;
    // With a user namespace: a dir (mode 0711 up to /) where the rootfs is
    // bound for the run, since runc reaches it by path as container root.
    std::filesystem::path rootfs_binds;
  };

  explicit RuncExecutor(Options options) : options_(std::move(options)) {}

  // Runs `spec` in container `id` ([A-Za-z0-9_+.-]) on `rootfs`.
  Result<int> run(std::string_view id, const RunSpec& spec, const std::filesystem::path& rootfs,
                  const OutputSink& output, const RunControl& control) const;

 private:
  Options options_;
};

}  // namespace strata::engine::exec
