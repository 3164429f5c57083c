#include "engine/exec/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/unique_fd.h"

extern char** environ;

namespace strata::engine::exec {

Result<pid_t> spawn_child(const std::vector<std::string>& argv, const ChildIo& io) {
  auto failed = [&](int err) { return fail("SPAWN", fmt::format("cannot start {}: {}", argv.at(0), std::strerror(err))); };
  // Move the passed fds above the target numbers first, so that no dup2
  // overwrites a source not yet dup'ed.
  std::vector<UniqueFd> high;
  for (int fd : io.pass_fds) {
    high.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 64));
    if (!high.back()) return failed(errno);
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (!io.log.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, io.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else {
    for (auto [fd, target] : {std::pair{io.out, 1}, std::pair{io.err, 2}}) {
      if (fd >= 0) posix_spawn_file_actions_adddup2(&actions, fd, target);
      else posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0);
    }
  }
  for (std::size_t i = 0; i < high.size(); ++i)
    posix_spawn_file_actions_adddup2(&actions, high[i].get(), static_cast<int>(3 + i));
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> args, env;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  for (const auto& entry : io.env) env.push_back(const_cast<char*>(entry.c_str()));
  env.push_back(nullptr);
  pid_t pid = -1;
  int err = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), io.env.empty() ? environ : env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return failed(err);
  return pid;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace strata::engine::exec
