// Starting and reaping the helper programs the builder runs on the host
// (the OCI runtime, slirp4netns, nft, mkfs.ext4): one home for how they are
// started, so each caller only says what goes where.
//
// A child starts with stdin from /dev/null, in its own process group (a
// terminal's signals do not reach it), with an empty signal mask and default
// signal dispositions, and with no fds but 0-2 and the ones passed.
//
// Contract: thread-safe. spawn_child errors: SPAWN, naming the program and
// the reason (callers re-code it for their domain).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"

namespace strata::engine::exec {

struct ChildIo {
  int out = -1;  // fd for stdout; -1: /dev/null
  int err = -1;  // fd for stderr; -1: /dev/null
  // When set, stdout and stderr both go to this file (appended, 0600),
  // whatever out and err say.
  std::filesystem::path log{};
  std::vector<int> pass_fds{};  // become fds 3, 4, ... in the child
  std::vector<std::string> env{};  // "K=V"; empty: the builder's environment
};

// Starts `argv` (argv[0] looked up in PATH, or in env's PATH when env is set).
Result<pid_t> spawn_child(const std::vector<std::string>& argv, const ChildIo& io = {});

// Waits for `pid` (retrying on EINTR); returns its wait status.
int wait_child(pid_t pid);

// 0-255 for an exit, 128 + the signal for a kill, -1 otherwise.
int exit_code(int status);

}  // namespace strata::engine::exec
