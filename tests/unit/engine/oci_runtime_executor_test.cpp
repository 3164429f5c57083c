// Integration tests: each OCI runtime (runc, crun, runsc) over a real
// overlayfs snapshot of a busybox rootfs made from Debian's busybox-static.
// A runtime's tests are skipped only when its binary is not installed (or
// not run as root, or without /bin/busybox); a runtime that is installed
// but cannot run here fails them.
#include "engine/exec/oci_runtime_executor.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "engine/snapshot/snapshotter.h"

namespace strata::engine::exec {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using strata::testing::TempDir;
using snapshot::Snapshotter;

struct Line {
  OutputStream stream;
  std::string text;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class OciRuntimeExecutorTest : public ::testing::TestWithParam<sandbox::RuntimeKind> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "OCI runtimes need root";
    auto runtime = OciRuntime::locate(GetParam());
    if (!runtime) GTEST_SKIP() << runtime.error().message;
    runtime_.emplace(std::move(*runtime));
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "busybox-static is not installed";
    make_busybox_rootfs(temp_.path() / "rootfs");
    auto opened = Snapshotter::open(temp_.path() / "snapshots");
    ASSERT_TRUE(opened) << opened.error().message;
    snapshotter_.emplace(std::move(*opened));
    // "<Test>/<runtime>": the runtime's name keeps ids apart, '/' is not allowed.
    id_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(id_.begin(), id_.end(), '/', '.');
    auto mount = snapshotter_->prepare({temp_.path() / "rootfs"}, id_);
    ASSERT_TRUE(mount) << mount.error().message << " " << mount.error().detail;
    mount_ = *mount;
  }
  void TearDown() override {
    if (snapshotter_) (void)snapshotter_->sweep();
  }

  static void make_busybox_rootfs(const fs::path& root) {
    fs::create_directories(root / "bin");
    fs::create_directories(root / "etc");
    fs::copy_file("/bin/busybox", root / "bin/busybox");
    for (const char* applet : {"sh", "echo", "cat", "ls", "id", "sleep", "touch", "env", "pwd", "grep", "hostname", "wc"})
      fs::create_symlink("busybox", root / "bin" / applet);
  }

  RunSpec shell(const std::string& command) const {
    RunSpec spec;
    spec.args = shell_form_args({}, command);
    return spec;
  }

  // `on_first_line` runs when the container prints its first line (while it
  // is still running).
  Result<int> run(const RunSpec& spec, const RunControl& control = {}, const std::function<void()>& on_first_line = {}) {
    OciRuntimeExecutor executor({.runtime = *runtime_, .state_dir = state_dir(), .bundle_dir = temp_.path() / "bundles"});
    return executor.run(id_, spec, mount_.merged, [&](OutputStream stream, std::string_view text) {
      if (lines_.empty() && on_first_line) on_first_line();
      lines_.push_back({stream, std::string(text)});
    }, control);
  }

  // A file of the container's cgroup (RunSpec::cgroups_path) as the host
  // sees it: cgroup v1 (or hybrid) has one hierarchy per controller.
  std::string host_cgroup_file(const std::string& controller, const std::string& v1_file,
                               const std::string& v2_file) const {
    fs::path v1 = fs::path("/sys/fs/cgroup") / controller;
    std::string path = fs::is_directory(v1) ? (v1.string() + "/strata-test/" + id_ + "/" + v1_file)
                                            : ("/sys/fs/cgroup/strata-test/" + id_ + "/" + v2_file);
    std::string text = read_file(path);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  // Lines of one stream in order (the two streams are not ordered relative
  // to each other: they are separate pipes).
  std::vector<std::string> lines_of(OutputStream stream) const {
    std::vector<std::string> texts;
    for (const auto& line : lines_)
      if (line.stream == stream) texts.push_back(line.text);
    return texts;
  }
  std::vector<std::string> stdout_lines() const { return lines_of(OutputStream::out); }

  // The run was stopped with `code` within a few seconds, and neither a
  // container nor (after release) a mount is left.
  void expect_stopped_and_gone(const Result<int>& status, const std::string& code,
                               std::chrono::steady_clock::duration took) {
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, code);
    EXPECT_LT(took, 5s);
    EXPECT_EQ(containers(), "");
    ASSERT_TRUE(snapshotter_->release(mount_));
    EXPECT_FALSE(mounts_left());
  }

  fs::path state_dir() const { return temp_.path() / "runtime-state"; }
  // What the runtime left in its state dir (a dir or files per container),
  // one name a line.
  std::string containers() const {
    std::string names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(state_dir(), ec)) names += entry.path().filename().string() + "\n";
    return names;
  }
  bool mounts_left() const {
    return read_file("/proc/self/mountinfo").find(temp_.path().string()) != std::string::npos;
  }

  TempDir temp_;
  std::optional<OciRuntime> runtime_;
  std::optional<Snapshotter> snapshotter_;
  std::string id_;
  snapshot::Mount mount_;
  std::vector<Line> lines_;
};

TEST_P(OciRuntimeExecutorTest, OutputIsStreamedLineByLineAndTheExitCodeReturned) {
  auto status = run(shell("echo hello; echo err >&2; printf 'no newline'; exit 3"));
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, 3);
  EXPECT_EQ(stdout_lines(), (std::vector<std::string>{"hello", "no newline"}));
  EXPECT_EQ(lines_of(OutputStream::err), std::vector<std::string>{"err"});
  EXPECT_EQ(containers(), "");
}

TEST_P(OciRuntimeExecutorTest, FilesWrittenByTheCommandLandInTheUpperDirOnly) {
  auto status = run(shell("echo data > /made-here"));
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(read_file(mount_.upper / "made-here"), "data\n");
  EXPECT_FALSE(fs::exists(temp_.path() / "rootfs/made-here"));
}

TEST_P(OciRuntimeExecutorTest, FilesLeftInTmpLandInTheUpperDir) {
  // runsc would hide them under its own tmpfs (oci_runtime.h).
  fs::create_directories(mount_.merged / "tmp");
  auto status = run(shell("echo kept > /tmp/left-here"));
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(read_file(mount_.upper / "tmp/left-here"), "kept\n");
}

TEST_P(OciRuntimeExecutorTest, MountPointsTheRuntimeCreatesNeverReachTheUpperDir) {
  // The rootfs has no /proc, /dev, /sys or /tmp: the runtime makes them for
  // its mounts.
  auto status = run(shell("ls /proc/self > /dev/null"));
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, 0);
  EXPECT_TRUE(fs::is_empty(mount_.upper)) << fs::directory_iterator(mount_.upper)->path();
}

TEST_P(OciRuntimeExecutorTest, EnvWorkdirAndUserAreApplied) {
  fs::create_directories(mount_.merged / "work");
  RunSpec spec = shell("id -u; id -g; id -G; pwd; echo $GREETING; echo $PATH; touch /tmp-denied 2>/dev/null || echo denied");
  spec.env = {"GREETING=hi there"};
  spec.cwd = "/work";
  spec.user = {.uid = 1000, .gid = 1000, .additional_gids = {2000}};
  auto status = run(spec);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(stdout_lines(), (std::vector<std::string>{"1000", "1000", "1000 2000", "/work", "hi there",
                                                      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                                      "denied"}));
}

TEST_P(OciRuntimeExecutorTest, ContainerHasDockersConfinement) {
  auto status = run(shell(
      "grep -E '^(CapBnd|CapEff|CapAmb|NoNewPrivs)' /proc/self/status;"
      "hostname; cat /proc/kcore | wc -c;"
      "echo x > /proc/sys/kernel/domainname 2>/dev/null || echo proc-sys-readonly;"
      "touch /sys/x 2>/dev/null || echo sys-readonly"));
  ASSERT_TRUE(status) << status.error().message;
  // Docker's 14 default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL
  // SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD
  // AUDIT_WRITE SETFCAP. runsc removes NET_RAW (its raw sockets are off) and
  // its /proc shows no CapAmb or NoNewPrivs.
  std::vector<std::string> expected =
      GetParam() == sandbox::RuntimeKind::runsc
          ? std::vector<std::string>{"CapEff:\t00000000a80405fb", "CapBnd:\t00000000a80405fb"}
          : std::vector<std::string>{"CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb",
                                     "CapAmb:\t0000000000000000", "NoNewPrivs:\t1"};
  expected.insert(expected.end(), {"strata", "0", "proc-sys-readonly", "sys-readonly"});
  EXPECT_EQ(stdout_lines(), expected);
}

TEST_P(OciRuntimeExecutorTest, IsolatedNetworkHasOnlyLoopback) {
  auto status = run(shell("cat /proc/net/dev"));
  ASSERT_TRUE(status) << status.error().message;
  std::vector<std::string> interfaces;
  for (const auto& line : stdout_lines())
    if (auto colon = line.find(':'); colon != std::string::npos) interfaces.push_back(line.substr(line.find_first_not_of(' '), colon - line.find_first_not_of(' ')));
  EXPECT_EQ(interfaces, std::vector<std::string>{"lo"});
}

TEST_P(OciRuntimeExecutorTest, HostNetworkSeesTheHostsInterfaces) {
  RunSpec spec = shell("cat /proc/net/dev");
  spec.network = Network::host;
  auto status = run(spec);
  ASSERT_TRUE(status) << status.error().message;
  std::string host = read_file("/proc/net/dev");
  std::size_t host_lines = std::count(host.begin(), host.end(), '\n');
  EXPECT_EQ(stdout_lines().size(), host_lines);
}

TEST_P(OciRuntimeExecutorTest, SecretIsReadableReadOnlyAndNeverReachesTheUpperDir) {
  fs::path secret = temp_.path() / "secret-x";
  std::ofstream(secret) << "s3cret\n";
  RunSpec spec = shell("cat /run/secrets/x; echo leak > /run/secrets/x 2>/dev/null && echo writable; exit 0");
  spec.mounts.push_back({.source = secret, .destination = "/run/secrets/x", .readonly = true});
  auto status = run(spec);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(stdout_lines(), std::vector<std::string>{"s3cret"});
  EXPECT_EQ(read_file(secret), "s3cret\n");
  EXPECT_FALSE(fs::exists(mount_.upper / "run"));
}

TEST_P(OciRuntimeExecutorTest, StubInAnExistingDirLeavesThatDirUnchanged) {
  // /etc comes from the lower layer; runc creates /etc/resolv.conf in it.
  fs::path resolv = temp_.path() / "resolv.conf";
  std::ofstream(resolv) << "nameserver 127.0.0.1\n";
  RunSpec spec = shell("cat /etc/resolv.conf");
  spec.network = Network::host;
  spec.mounts.push_back({.source = resolv, .destination = "/etc/resolv.conf", .readonly = true});
  auto status = run(spec);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(stdout_lines(), std::vector<std::string>{"nameserver 127.0.0.1"});
  EXPECT_FALSE(fs::exists(mount_.upper / "etc/resolv.conf"));
  // /etc was copied up to hold the stub; with the stub gone it must read as
  // the lower one, so a layer writer sees no change.
  ASSERT_TRUE(fs::is_directory(mount_.upper / "etc"));
  EXPECT_EQ(fs::last_write_time(mount_.upper / "etc"), fs::last_write_time(temp_.path() / "rootfs/etc"));
}

TEST_P(OciRuntimeExecutorTest, CacheMountIsWritableAndKeepsItsContent) {
  fs::path cache = temp_.path() / "cache";
  fs::create_directories(cache);
  RunSpec spec = shell("echo built > /root/.cache/artifact");
  spec.mounts.push_back({.source = cache, .destination = "/root/.cache", .readonly = false});
  auto status = run(spec);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(read_file(cache / "artifact"), "built\n");
  EXPECT_FALSE(fs::exists(mount_.upper / "root"));
}

TEST_P(OciRuntimeExecutorTest, PidsAndMemoryLimitsAreSetOnTheContainersHostCgroup) {
  // Read on the host while the step runs (runsc's kernel shows the step no
  // host cgroup). Under runsc the limits hold the whole sandbox.
  RunSpec spec = shell("echo running; sleep 1");
  spec.pids_limit = 512;
  spec.memory_limit_bytes = 256 << 20;
  spec.cgroups_path = "/strata-test/" + id_;
  std::vector<std::string> limits;
  auto status = run(spec, {}, [&] {
    limits = {host_cgroup_file("pids", "pids.max", "pids.max"),
              host_cgroup_file("memory", "memory.limit_in_bytes", "memory.max")};
  });
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(limits, (std::vector<std::string>{"512", std::to_string(256 << 20)}));
}

TEST_P(OciRuntimeExecutorTest, TimeoutKillsTheContainerPromptlyAndLeavesNothing) {
  auto started = std::chrono::steady_clock::now();
  RunControl control;
  control.deadline = started + 1s;
  auto status = run(shell("sleep 30"), control);
  expect_stopped_and_gone(status, "RUN_TIMEOUT", std::chrono::steady_clock::now() - started);
}

TEST_P(OciRuntimeExecutorTest, CancellationKillsTheContainerPromptlyAndLeavesNothing) {
  std::stop_source cancel;
  std::jthread canceller([&] {
    std::this_thread::sleep_for(500ms);
    cancel.request_stop();
  });
  auto started = std::chrono::steady_clock::now();
  auto status = run(shell("sleep 30"), {.cancel = cancel.get_token()});
  expect_stopped_and_gone(status, "RUN_CANCELLED", std::chrono::steady_clock::now() - started);
}

TEST_P(OciRuntimeExecutorTest, CancellationBeforeTheContainerExistsLeavesNothing) {
  std::stop_source cancel;
  cancel.request_stop();
  auto started = std::chrono::steady_clock::now();
  auto status = run(shell("sleep 30"), {.cancel = cancel.get_token()});
  expect_stopped_and_gone(status, "RUN_CANCELLED", std::chrono::steady_clock::now() - started);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, OciRuntimeExecutorTest,
                         ::testing::Values(sandbox::RuntimeKind::runc, sandbox::RuntimeKind::crun,
                                           sandbox::RuntimeKind::runsc),
                         [](const auto& info) { return std::string(sandbox::runtime_name(info.param)); });

}  // namespace
}  // namespace strata::engine::exec
