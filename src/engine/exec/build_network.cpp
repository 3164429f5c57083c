#include "engine/exec/build_network.h"

#include "engine/exec/child_process.h"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "sandbox/egress_ruleset.h"


namespace strata::engine::exec {
namespace fs = std::filesystem;
namespace {

// slirp4netns's defaults (--cidr 10.0.2.0/24): the namespace is .100, the
// gateway .2 (the host, whose loopback --disable-host-loopback closes), DNS .3.
constexpr std::string_view kSlirpResolver = "10.0.2.3";
constexpr std::string_view kTapDevice = "tap0";
// As rootless Docker and BuildKit run it: the largest MTU slirp takes is
// much faster than 1500 for bulk downloads.
constexpr int kSlirpMtu = 65520;
constexpr std::chrono::seconds kSlirpReadyTimeout{15};
constexpr std::chrono::milliseconds kSlirpExitGrace{2000};

std::unexpected<Error> setup_error(std::string message, std::string detail = {}) {
  return fail("NETWORK_SETUP", std::move(message), std::move(detail));
}

std::unexpected<Error> errno_setup_error(std::string_view action, const fs::path& path) {
  return setup_error(fmt::format("{} {}: {}", action, path.string(), std::strerror(errno)));
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<void> write_text(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) return setup_error(fmt::format("cannot write {}", path.string()));
  std::error_code ec;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                  ec);
  return {};
}

// The calling thread's network namespace: bring `lo` up (a new namespace
// has it down).
Result<void> loopback_up() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (!sock || ::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) return errno_setup_error("cannot read flags of", "lo");
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0) return errno_setup_error("cannot bring up", "lo");
  return {};
}

void unmount_namespace(const fs::path& path) {
  ::umount2(path.c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove(path, ec);
}

// A new network namespace, kept alive by a bind mount on `path`, with lo up
// and `setup` run inside it. Made on a thread of its own: unshare() moves
// only the calling thread, and the thread's end leaves the rest of the
// process where it was.
Result<void> make_namespace(const fs::path& path, const std::function<Result<void>()>& setup) {
  UniqueFd placeholder(::open(path.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0444));
  if (!placeholder) return errno_setup_error("cannot create", path);
  placeholder.reset();
  Result<void> made;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      made = errno_setup_error("cannot create a network namespace for", path);
      return;
    }
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      made = errno_setup_error("cannot bind the network namespace to", path);
      return;
    }
    made = loopback_up();
    if (made) made = setup();
  }).join();
  if (!made) unmount_namespace(path);
  return made;
}

// `nft -f <rules>` in the calling thread's network namespace.
Result<void> load_firewall(const fs::path& nft, const fs::path& rules, const fs::path& log) {
  auto pid = spawn_child({nft.string(), "-f", rules.string()}, {.log = log});
  if (!pid) return setup_error(pid.error().message);
  int status = wait_child(*pid);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return setup_error(fmt::format("cannot load the egress firewall ({} -f {})", nft.string(), rules.string()),
                     read_text(log));
}

}  // namespace

BuildNetwork::~BuildNetwork() {
  stop_slirp();
  if (isolated_made_) unmount_namespace(options_.dir / "isolated");
  if (egress_made_) unmount_namespace(options_.dir / "egress");
  if (files_written_) {
    std::error_code ec;
    fs::remove_all(options_.dir, ec);
  }
}

Result<void> BuildNetwork::attach(RunSpec& spec, NetworkAccess access) {
  if (!files_written_)
    if (auto ok = write_files(); !ok) return ok;
  bool egress = access == NetworkAccess::egress;
  if (egress && !egress_made_)
    if (auto ok = make_egress(); !ok) return ok;
  if (!egress && !isolated_made_)
    if (auto ok = make_isolated(); !ok) return ok;
  spec.network = access;
  spec.network_namespace = options_.dir / (egress ? "egress" : "isolated");
  spec.hostname = options_.hostname;
  spec.mounts.push_back({options_.dir / "hosts", "/etc/hosts", true});
  spec.mounts.push_back({options_.dir / "hostname", "/etc/hostname", true});
  if (egress) spec.mounts.push_back({options_.dir / "resolv.conf", "/etc/resolv.conf", true});
  return {};
}

Result<void> BuildNetwork::write_files() {
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec) return setup_error(fmt::format("cannot create {}: {}", options_.dir.string(), ec.message()));
  files_written_ = true;  // from here on the destructor removes the dir
  // What BuildKit writes (executor/oci/hosts.go), with our host name.
  std::string hosts = fmt::format("127.0.0.1\tlocalhost {}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
                                  options_.hostname);
  for (auto [name, text] : {std::pair<const char*, std::string>{"hosts", hosts},
                            {"hostname", options_.hostname + "\n"},
                            {"resolv.conf", fmt::format("nameserver {}\n", kSlirpResolver)}})
    if (auto ok = write_text(options_.dir / name, text); !ok) return ok;
  return {};
}

Result<void> BuildNetwork::make_isolated() {
  auto made = make_namespace(options_.dir / "isolated", [] { return Result<void>{}; });
  if (made) isolated_made_ = true;
  return made;
}

Result<void> BuildNetwork::make_egress() {
  fs::path rules = options_.dir / "egress.nft";
  auto resolver = sandbox::IpAddress::parse(kSlirpResolver);
  if (auto ok = write_text(rules, sandbox::egress_ruleset(options_.egress_policy, *resolver)); !ok) return ok;
  auto made = make_namespace(options_.dir / "egress",
                             [&] { return load_firewall(options_.nft, rules, options_.dir / "nft.log"); });
  if (!made) return made;
  egress_made_ = true;
  if (auto started = start_slirp(); !started) {
    // No half-made egress network: a later step tries afresh.
    unmount_namespace(options_.dir / "egress");
    egress_made_ = false;
    return started;
  }
  return {};
}

// slirp4netns in the host's namespace, serving the egress namespace's tap0.
// It configures tap0 (--configure), writes to the ready fd when done, and
// exits when the exit fd's other end closes. --enable-sandbox and
// --enable-seccomp confine slirp4netns itself (own mount namespace, no
// capabilities but CAP_NET_BIND_SERVICE, a syscall filter), since it parses
// packets a tenant's step writes.
Result<void> BuildNetwork::start_slirp() {
  int ready_fds[2], exit_fds[2];
  if (::pipe2(ready_fds, O_CLOEXEC) != 0) return errno_setup_error("cannot create a pipe for", options_.slirp4netns);
  UniqueFd ready_read(ready_fds[0]), ready_write(ready_fds[1]);
  if (::pipe2(exit_fds, O_CLOEXEC) != 0) return errno_setup_error("cannot create a pipe for", options_.slirp4netns);
  UniqueFd exit_read(exit_fds[0]), exit_write(exit_fds[1]);
  fs::path log = options_.dir / "slirp4netns.log";
  auto pid = spawn_child({options_.slirp4netns.string(), "--configure", fmt::format("--mtu={}", kSlirpMtu),
                    "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp", "--netns-type=path",
                    "--ready-fd=3", "--exit-fd=4", (options_.dir / "egress").string(), std::string(kTapDevice)},
                   {.log = log, .pass_fds = {ready_write.get(), exit_read.get()}});
  if (!pid) return setup_error(pid.error().message);
  slirp_ = *pid;
  slirp_exit_ = std::move(exit_write);
  ready_write.reset();
  exit_read.reset();

  pollfd ready{ready_read.get(), POLLIN, 0};
  char byte = 0;
  int polled = 0;
  while ((polled = ::poll(&ready, 1, static_cast<int>(std::chrono::milliseconds(kSlirpReadyTimeout).count()))) < 0 &&
         errno == EINTR) {
  }
  if (polled == 1 && ::read(ready_read.get(), &byte, 1) == 1) return {};
  stop_slirp();
  return setup_error(fmt::format("{} did not bring up the egress network", options_.slirp4netns.string()),
                     read_text(log));
}

void BuildNetwork::stop_slirp() {
  if (slirp_ <= 0) return;
  slirp_exit_.reset();
  auto deadline = std::chrono::steady_clock::now() + kSlirpExitGrace;
  int status = 0;
  while (::waitpid(slirp_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(slirp_, SIGKILL);
      wait_child(slirp_);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  slirp_ = -1;
}

void BuildNetwork::sweep(const fs::path& root) {
  std::error_code ec;
  for (const auto& build : fs::directory_iterator(root, ec)) {
    for (const char* name : {"isolated", "egress"}) ::umount2((build.path() / name).c_str(), MNT_DETACH);
    fs::remove_all(build.path(), ec);
  }
}

}  // namespace strata::engine::exec
