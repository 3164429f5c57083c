#include "builds/builder_process.h"

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "common/unique_fd.h"

namespace strata::builds {
namespace {

using namespace std::chrono_literals;

// How long the output may lag behind the child's exit: a grandchild that
// escaped the group could hold the pipes open forever.
constexpr auto kOutputDrainLimit = 2s;

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail("SPAWN", "cannot create a pipe for the builder");
  return std::pair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// In the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(const char* executable, char* const argv[], char* const envp[], const char* cwd,
                             int out, int err, pid_t server) {
  ::setpgid(0, 0);
  // A server that dies (kill -9, crash) takes its builders with it: SIGTERM
  // lets the builder kill its container and unmount, so nothing keeps running
  // next to the restarted server. The check closes the race with a death
  // before prctl.
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != server) ::_exit(127);
  int null = ::open("/dev/null", O_RDONLY);
  if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(127);
  // Nothing else of the server's crosses over: not its database, keys or sockets.
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
    for (int fd = 3; fd < 65536; ++fd) ::close(fd);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the server blocks SIGTERM for its signal thread
  ::signal(SIGPIPE, SIG_DFL);                  // and ignores SIGPIPE; exec would keep both
  if (::chdir(cwd) != 0) ::_exit(127);
  ::execve(executable, argv, envp);
  ::_exit(127);
}

BuilderExit exit_of(int status) {
  if (WIFEXITED(status)) return {WEXITSTATUS(status), std::nullopt};
  return {std::nullopt, WTERMSIG(status)};
}

// Above the builder's own longest line: 64 KiB of output and its "#n " prefix.
constexpr std::size_t kMaxLine = 128 * 1024;

}  // namespace

// Reads the child's stdout and stderr line by line on its own thread until
// both reach end of file, or until abandon() is called.
struct BuilderProcess::Output {
  Output(UniqueFd out, UniqueFd err, UniqueFd wake_read, UniqueFd wake_write, LineSink sink)
      : wake_write_(std::move(wake_write)), sink_(std::move(sink)) {
    streams_[0].fd = std::move(out);
    streams_[1].fd = std::move(err);
    wake_read_ = std::move(wake_read);
    thread_ = std::thread([this] { run(); });
  }
  ~Output() {
    abandon();
    thread_.join();
  }

  bool wait_done(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return done_cv_.wait_for(lock, timeout, [this] { return done_; });
  }

  void abandon() {
    char byte = 1;
    [[maybe_unused]] auto n = ::write(wake_write_.get(), &byte, 1);
  }

 private:
  struct Stream {
    UniqueFd fd;
    std::string partial;
  };

  void run() {
    std::vector<char> buffer(64 * 1024);
    for (;;) {
      pollfd fds[3] = {{streams_[0].fd.get(), POLLIN, 0}, {streams_[1].fd.get(), POLLIN, 0},
                       {wake_read_.get(), POLLIN, 0}};
      if (!streams_[0].fd && !streams_[1].fd) break;
      if (::poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[2].revents) break;
      for (int i = 0; i < 2; ++i)
        if (fds[i].revents) read_stream(streams_[i], buffer);
    }
    for (auto& stream : streams_)
      if (!stream.partial.empty()) sink_(std::exchange(stream.partial, {}));
    std::lock_guard lock(mutex_);
    done_ = true;
    done_cv_.notify_all();
  }

  void read_stream(Stream& stream, std::vector<char>& buffer) {
    auto n = ::read(stream.fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) {
      if (!stream.partial.empty()) sink_(std::exchange(stream.partial, {}));
      stream.fd.reset();
      return;
    }
    stream.partial.append(buffer.data(), static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (auto end = stream.partial.find('\n'); end != std::string::npos; end = stream.partial.find('\n', start)) {
      std::string_view line(stream.partial.data() + start, end - start);
      if (line.ends_with('\r')) line.remove_suffix(1);
      sink_(line);
      start = end + 1;
    }
    stream.partial.erase(0, start);
    // A line without end (the builder is the untrusted side) is passed on
    // in pieces rather than held.
    if (stream.partial.size() >= kMaxLine) sink_(std::exchange(stream.partial, {}));
  }

  Stream streams_[2];
  UniqueFd wake_read_;
  UniqueFd wake_write_;
  LineSink sink_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

Result<std::unique_ptr<BuilderProcess>> BuilderProcess::start(const BuilderCommand& command, LineSink sink) {
  auto out = make_pipe();
  auto err = make_pipe();
  auto wake = make_pipe();
  if (!out || !err || !wake) return fail("SPAWN", "cannot create pipes for the builder");
  // Everything exec needs is built before fork: the child may not allocate.
  std::string executable = command.executable.string();
  std::string config = command.config.string();
  std::string cwd = command.working_dir.string();
  std::vector<std::string> args = {executable, "builder", "--config", config};
  std::vector<std::string> env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                  "HOME=" + cwd, "LANG=C.UTF-8"};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t server = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail("SPAWN", "cannot fork the builder process");
  if (pid == 0)
    exec_child(executable.c_str(), argv.data(), envp.data(), cwd.c_str(), out->second.get(), err->second.get(),
               server);
  // Also set here, so a stop() right after start() reaches the group even if
  // the child has not run setpgid yet.
  ::setpgid(pid, pid);
  out->second.reset();
  err->second.reset();
  auto output = std::make_unique<Output>(std::move(out->first), std::move(err->first), std::move(wake->first),
                                         std::move(wake->second), std::move(sink));
  return std::unique_ptr<BuilderProcess>(new BuilderProcess(pid, std::move(output)));
}

BuilderProcess::BuilderProcess(pid_t pid, std::unique_ptr<Output> output) : pid_(pid), output_(std::move(output)) {}

BuilderProcess::~BuilderProcess() {
  if (!exit_) {
    kill_group(SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  output_.reset();
}

void BuilderProcess::kill_group(int signal) const { ::kill(-pid_, signal); }

void BuilderProcess::stop(std::chrono::milliseconds grace) {
  std::lock_guard lock(stop_mutex_);
  if (kill_at_) return;
  kill_at_ = std::chrono::steady_clock::now() + grace;
  kill_group(SIGTERM);
}

std::optional<BuilderExit> BuilderProcess::wait_for(std::chrono::milliseconds timeout) {
  if (exit_) return exit_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
    if (reaped == pid_) {
      exit_ = exit_of(status);
      // Whatever is left of the group (a stray runc) goes with the builder.
      kill_group(SIGKILL);
      if (!output_->wait_done(std::chrono::duration_cast<std::chrono::milliseconds>(kOutputDrainLimit)))
        output_->abandon();
      return exit_;
    }
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(stop_mutex_);
      if (kill_at_ && now >= *kill_at_) kill_group(SIGKILL);
    }
    if (now >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(20ms, deadline - now));
  }
}

}  // namespace strata::builds
