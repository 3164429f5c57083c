#include "engine/exec/oci_runtime_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "engine/exec/child_process.h"
#include "engine/exec/mount_stubs.h"
#include "common/unique_fd.h"


namespace strata::engine::exec {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::chrono::milliseconds kKillRetry{100};

std::string errno_text(int err) { return std::error_code(err, std::system_category()).message(); }

// Cuts a byte stream into lines for the sink.
class LineSplitter {
 public:
  LineSplitter(OutputStream stream, const OutputSink& sink) : stream_(stream), sink_(sink) {}

  void feed(std::string_view bytes) {
    while (!bytes.empty()) {
      std::size_t newline = bytes.find('\n');
      std::size_t take = std::min({newline == std::string_view::npos ? bytes.size() : newline,
                                   kMaxLine - pending_.size()});
      pending_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (!bytes.empty() && bytes.front() == '\n') {
        bytes.remove_prefix(1);
        flush();
      } else if (pending_.size() == kMaxLine) {
        flush();
      }
    }
  }
  // At end of stream: a last line without '\n' is still a line.
  void finish() {
    if (!pending_.empty()) flush();
  }

 private:
  void flush() {
    sink_(stream_, pending_);
    pending_.clear();
  }

  OutputStream stream_;
  const OutputSink& sink_;
  std::string pending_;
};

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail("IO", fmt::format("pipe: {}", errno_text(errno)));
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A runtime subcommand whose output nobody needs; true if it succeeded.
bool run_quietly(const std::vector<std::string>& argv) {
  auto pid = spawn_child(argv);
  return pid && exit_code(wait_child(*pid)) == 0;
}

bool valid_container_id(std::string_view id) {
  return !id.empty() && id.size() <= 1024 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '.' || c == '-';
  });
}

// A bundle dir holding config.json, removed with the object. The dir is
// searchable by all (0711) because runsc's file proxy opens the binds'
// stand-ins in it by path as container root; config.json, which carries
// secrets given as environment variables, is readable by root only.
class Bundle {
 public:
  static Result<Bundle> create(const fs::path& parent, std::string_view id) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    std::string pattern = (parent / fmt::format("{}-XXXXXX", id)).string();
    if (ec || ::mkdtemp(pattern.data()) == nullptr || ::chmod(pattern.c_str(), 0711) != 0)
      return fail("IO", fmt::format("cannot create a bundle dir in {}", parent.string()));
    return Bundle(pattern);
  }
  Result<void> write_config(const std::string& config) const {
    fs::path path = dir_ / "config.json";
    UniqueFd created(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));  // root's alone
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << config;
    if (created.get() < 0 || !out.flush()) return fail("IO", fmt::format("cannot write {}", path.string()));
    return {};
  }
  Bundle(Bundle&& other) noexcept : dir_(std::exchange(other.dir_, {})) {}
  Bundle& operator=(Bundle&&) = delete;
  ~Bundle() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }

 private:
  explicit Bundle(fs::path dir) : dir_(std::move(dir)) {}
  fs::path dir_;
};

// The bind mounts of a run as its user namespace should see them: each
// source is mounted, idmapped, on a stand-in in a dir of the run, and the spec
// points at the stand-in. A source whose filesystem cannot be idmapped (an
// overlay: a stage bound with RUN --mount=from=) is bound as it is; its files
// then show as nobody, and it is read-only anyway. Unmounted (detached) when
// the object goes, before that dir is removed.
class IdMappedBinds {
 public:
  IdMappedBinds() = default;
  IdMappedBinds(const IdMappedBinds&) = delete;
  IdMappedBinds& operator=(const IdMappedBinds&) = delete;
  ~IdMappedBinds() {
    for (const auto& target : mounted_) ::umount2(target.c_str(), MNT_DETACH);
  }

  Result<void> apply(RunSpec& spec, const fs::path& dir, const IdMapping& mapping) {
    for (std::size_t i = 0; i < spec.mounts.size(); ++i) {
      BindMount& bind = spec.mounts[i];
      fs::path stand_in = dir / fmt::format("bind-{}", i);
      std::error_code ec;
      bool is_dir = fs::is_directory(bind.source, ec);
      if (is_dir) fs::create_directory(stand_in, ec);
      else std::ofstream(stand_in).flush();
      auto mounted = mount_idmapped(bind.source, stand_in, mapping);
      if (!mounted && mounted.error().code == "MOUNT_UNSUPPORTED") continue;
      if (!mounted) return mounted;
      mounted_.push_back(stand_in);
      bind.source = stand_in;
    }
    return {};
  }

 private:
  std::vector<fs::path> mounted_;
};

// The rootfs bound on a fresh dir under `parent` for one run, unbound (and
// the dir removed) when the object goes.
class RootfsBind {
 public:
  static Result<RootfsBind> make(const fs::path& rootfs, const fs::path& parent, std::string_view id) {
    std::string pattern = (parent / fmt::format("{}-XXXXXX", id)).string();
    if (::mkdtemp(pattern.data()) == nullptr || ::chmod(pattern.c_str(), 0755) != 0)
      return fail("IO", fmt::format("cannot create a rootfs dir in {}: {}", parent.string(), errno_text(errno)));
    if (::mount(rootfs.c_str(), pattern.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      int err = errno;
      ::rmdir(pattern.c_str());
      return fail("RUNTIME", fmt::format("cannot bind the rootfs for the runtime: {}", errno_text(err)));
    }
    return RootfsBind(pattern);
  }
  RootfsBind(RootfsBind&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  RootfsBind& operator=(RootfsBind&&) = delete;
  ~RootfsBind() {
    if (path_.empty()) return;
    ::umount2(path_.c_str(), MNT_DETACH);
    ::rmdir(path_.c_str());
  }
  const fs::path& path() const { return path_; }

 private:
  explicit RootfsBind(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

// Reads a running `<runtime> run` child's output until both pipes close,
// killing the container when the deadline passes or the run is cancelled.
class Supervision {
 public:
  Supervision(const OciRuntimeExecutor::Options& options, std::string id, pid_t runtime, const RunControl& control,
              const OutputSink& sink)
      : options_(options), id_(std::move(id)), runtime_(runtime), control_(control),
        out_(OutputStream::out, sink), err_(OutputStream::err, sink) {}

  enum class Ending { exited, timed_out, cancelled };

  // Returns how the run ended and the runtime's wait status.
  Result<std::pair<Ending, int>> pump(UniqueFd out, UniqueFd err) {
    UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (wake.get() < 0) return fail("IO", fmt::format("eventfd: {}", errno_text(errno)));
    std::stop_callback on_cancel(control_.cancel, [&] {
      std::uint64_t one = 1;
      (void)!::write(wake.get(), &one, sizeof one);
    });

    std::array<std::pair<UniqueFd*, LineSplitter*>, 2> streams{{{&out, &out_}, {&err, &err_}}};
    while (out.get() >= 0 || err.get() >= 0) {
      if (ending_ == Ending::exited) {
        if (control_.cancel.stop_requested()) ending_ = Ending::cancelled;
        else if (Clock::now() >= control_.deadline) ending_ = Ending::timed_out;
      }
      if (ending_ != Ending::exited && !kill_container()) break;

      std::vector<pollfd> fds;
      for (auto [fd, splitter] : streams)
        fds.push_back({fd->get(), POLLIN, 0});  // a negative fd is ignored by poll
      fds.push_back({wake.get(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), poll_timeout()) < 0 && errno != EINTR)
        return fail("IO", fmt::format("poll: {}", errno_text(errno)));
      for (std::size_t i = 0; i < streams.size(); ++i)
        if (fds[i].revents != 0) drain(*streams[i].first, *streams[i].second);
      std::uint64_t count;
      if (fds.back().revents != 0) (void)!::read(wake.get(), &count, sizeof count);
    }
    // Pipes closed: the container's processes are gone, or the runtime was killed.
    if (!status_) status_ = wait_child(runtime_);
    return std::pair{ending_, *status_};
  }

 private:
  int poll_timeout() const {
    if (ending_ != Ending::exited) return static_cast<int>(kKillRetry.count());
    if (control_.deadline == Clock::time_point::max()) return -1;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(control_.deadline - Clock::now());
    return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 60'000));
  }

  void drain(UniqueFd& fd, LineSplitter& splitter) {
    char buf[16384];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      splitter.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      splitter.finish();
      fd.reset();
    }
  }

  // Sends SIGKILL through the runtime until the runtime's `run` exits: the
  // first tries may come before it has created the container. Returns false
  // once the grace period is over (the runtime is then killed if still
  // there); the pipes are then abandoned and `delete --force` ends any
  // process left.
  bool kill_container() {
    auto now = Clock::now();
    if (!kill_started_) kill_started_ = now;
    if (!status_) {
      int status = 0;
      if (::waitpid(runtime_, &status, WNOHANG) == runtime_) status_ = status;
    }
    if (now - *kill_started_ > options_.kill_grace) {
      if (!status_) {
        ::kill(runtime_, SIGKILL);
        status_ = wait_child(runtime_);
      }
      return false;
    }
    if (!status_ && now - last_kill_ >= kKillRetry) {
      auto kill = options_.runtime.command(options_.state_dir);
      kill.insert(kill.end(), {"kill", id_, "KILL"});
      run_quietly(kill);
      last_kill_ = now;
    }
    return true;
  }

  const OciRuntimeExecutor::Options& options_;
  std::string id_;
  pid_t runtime_;
  const RunControl& control_;
  LineSplitter out_, err_;
  Ending ending_ = Ending::exited;
  std::optional<Clock::time_point> kill_started_;
  Clock::time_point last_kill_{};
  std::optional<int> status_;
};

}  // namespace

Result<int> OciRuntimeExecutor::run(std::string_view id, const RunSpec& spec, const fs::path& rootfs,
                              const OutputSink& output, const RunControl& control) const {
  if (!valid_container_id(id))
    return fail("RUN_INVALID", fmt::format("container id {:?} must be [A-Za-z0-9_+.-]", std::string(id)));
  if (!rootfs.is_absolute() || !fs::is_directory(rootfs))
    return fail("RUN_INVALID", fmt::format("rootfs {} is not an absolute path to a directory", rootfs.string()));
  RunSpec effective = spec;
  if (options_.id_mapping) effective.ids = options_.id_mapping->ids();
  auto bundle = Bundle::create(options_.bundle_dir, id);
  if (!bundle) return std::unexpected(bundle.error());
  // runsc's file proxy opens the binds' stand-ins by path as container root,
  // so they go where that root can walk (the bundle's parents may not let it).
  std::optional<Bundle> walkable_binds;
  if (options_.id_mapping && !options_.rootfs_binds.empty()) {
    auto made = Bundle::create(options_.rootfs_binds, std::string(id) + ".binds");
    if (!made) return std::unexpected(made.error());
    walkable_binds.emplace(std::move(*made));
  }
  IdMappedBinds binds;  // after their dir: unmounted before it is removed
  if (options_.id_mapping)
    if (auto applied = binds.apply(effective, walkable_binds ? walkable_binds->dir() : bundle->dir(),
                                   *options_.id_mapping);
        !applied)
      return std::unexpected(applied.error());
  std::optional<RootfsBind> walkable_rootfs;
  if (options_.id_mapping && !options_.rootfs_binds.empty()) {
    auto bound = RootfsBind::make(rootfs, options_.rootfs_binds, id);
    if (!bound) return std::unexpected(bound.error());
    walkable_rootfs.emplace(std::move(*bound));
  }
  auto invocation = options_.runtime.invocation(effective, walkable_rootfs ? walkable_rootfs->path() : rootfs);
  if (!invocation) return std::unexpected(invocation.error());
  if (auto written = bundle->write_config(invocation->config); !written) return std::unexpected(written.error());
  auto out = make_pipe();
  if (!out) return std::unexpected(out.error());
  auto err = make_pipe();
  if (!err) return std::unexpected(err.error());

  MountStubs stubs = MountStubs::find(rootfs, invocation->mount_points);
  auto run = options_.runtime.command(options_.state_dir, invocation->run_flags);
  run.insert(run.end(), {"run", "--bundle", bundle->dir().string(), std::string(id)});
  auto pid = spawn_child(run, {.out = out->write.get(), .err = err->write.get()});
  out->write.reset();  // only the runtime (and the container) may hold the write ends
  err->write.reset();
  if (!pid) return fail("RUNTIME", pid.error().message);

  Supervision supervision(options_, std::string(id), *pid, control, output);
  auto ended = supervision.pump(std::move(out->read), std::move(err->read));
  // Also after a clean exit: the runtime removes its state then, and this is a no-op.
  auto remove = options_.runtime.command(options_.state_dir);
  remove.insert(remove.end(), {"delete", "--force", std::string(id)});
  run_quietly(remove);
  stubs.remove();
  if (!ended) return std::unexpected(ended.error());

  auto [ending, status] = *ended;
  if (ending == Supervision::Ending::timed_out) return fail("RUN_TIMEOUT", "the command exceeded the build's time limit and was killed");
  if (ending == Supervision::Ending::cancelled) return fail("RUN_CANCELLED", "the build was cancelled; the command was killed");
  return exit_code(status);
}

}  // namespace strata::engine::exec
