// One running `strata builder --config <build.json>`: the build service's
// untrusted side, supervised from here. The child is the server's own binary
// (/proc/self/exe by default) started with fork/exec in a process group of
// its own, with stdin on /dev/null, no inherited descriptors besides its
// stdout/stderr pipes, and a clean environment (PATH, HOME, LANG only), so it
// sees nothing of the server's keys, database handles or configuration. It
// gets SIGTERM when the thread that started it dies (the server was killed),
// so a builder never outlives its server.
//
// Every line the child writes on stdout or stderr is handed to the LineSink,
// in order per stream, from a reader thread owned by this object; a line
// longer than 128 KiB comes in pieces of that size. stop()
// asks the whole group to end (SIGTERM: the builder kills its container and
// unmounts) and sends SIGKILL to the group if it is still alive after the
// grace period; wait_for() does that escalation while it waits.
//
// Thread-safety: stop() may be called from any thread; wait_for() from one
// thread at a time. The destructor kills the group if the child still runs,
// reaps it and joins the reader. Errors: SPAWN (fork or pipe setup failed;
// a failed exec shows as exit code 127).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "common/error.h"

namespace strata::builds {

struct BuilderCommand {
  std::filesystem::path executable = "/proc/self/exe";
  std::filesystem::path config;       // build.json
  std::filesystem::path working_dir;  // the child's cwd and HOME
};

// How the child ended: exit code, or the signal that killed it.
struct BuilderExit {
  std::optional<int> code{};
  std::optional<int> signal{};
  bool success() const { return code == 0; }
};

using LineSink = std::function<void(std::string_view line)>;

class BuilderProcess {
 public:
  static Result<std::unique_ptr<BuilderProcess>> start(const BuilderCommand& command, LineSink sink);
  ~BuilderProcess();
  BuilderProcess(const BuilderProcess&) = delete;
  BuilderProcess& operator=(const BuilderProcess&) = delete;

  // Waits up to `timeout` for the child to exit; nullopt if it still runs.
  // Once it exited, also waits (briefly) until its output is read, so every
  // line reached the sink before this returns.
  std::optional<BuilderExit> wait_for(std::chrono::milliseconds timeout);

  // SIGTERM to the group now, SIGKILL after `grace`. Idempotent: a second
  // call does not move the SIGKILL deadline.
  void stop(std::chrono::milliseconds grace);

  pid_t pid() const { return pid_; }

 private:
  struct Output;
  BuilderProcess(pid_t pid, std::unique_ptr<Output> output);
  void kill_group(int signal) const;

  const pid_t pid_;
  std::unique_ptr<Output> output_;
  std::optional<BuilderExit> exit_;  // touched by wait_for() only
  std::mutex stop_mutex_;
  std::optional<std::chrono::steady_clock::time_point> kill_at_;
};

}  // namespace strata::builds
