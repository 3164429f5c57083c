// Integration tests: real runc over a real overlayfs snapshot of a busybox
// rootfs made from Debian's busybox-static. Skipped unless run as root with
// runc and /bin/busybox installed.
#include "engine/exec/runc_executor.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "common/text.h"
#include "engine/exec/build_network.h"
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

std::string command_output(const std::string& command) {
  std::string output;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
    ::pclose(pipe);
  }
  return output;
}

bool runc_installed() { return !command_output("command -v runc").empty(); }

class RuncExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "runc needs root";
    if (!runc_installed()) GTEST_SKIP() << "runc is not installed";
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "busybox-static is not installed";
    make_busybox_rootfs(temp_.path() / "rootfs");
    auto opened = Snapshotter::open(temp_.path() / "snapshots");
    ASSERT_TRUE(opened) << opened.error().message;
    snapshotter_.emplace(std::move(*opened));
    id_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
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
    for (const char* applet : {"sh", "echo", "cat", "ls", "id", "sleep", "touch", "env", "pwd", "grep", "hostname", "wc",
                                "chown", "mkdir", "unshare", "readlink"})
      fs::create_symlink("busybox", root / "bin" / applet);
  }

  RunSpec shell(const std::string& command) const {
    RunSpec spec;
    spec.args = shell_form_args({}, command);
    return spec;
  }

  Result<int> run(const RunSpec& spec, const RunControl& control = {}) {
    RuncExecutor executor({.runc = "runc", .state_dir = state_dir(), .bundle_dir = temp_.path() / "bundles"});
    return executor.run(id_, spec, mount_.merged, [&](OutputStream stream, std::string_view text) {
      lines_.push_back({stream, std::string(text)});
    }, control);
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
    EXPECT_EQ(runc_containers(), "");
    ASSERT_TRUE(snapshotter_->release(mount_));
    EXPECT_FALSE(mounts_left());
  }

  fs::path state_dir() const { return temp_.path() / "runc-state"; }
  std::string runc_containers() const { return command_output(fmt::format("runc --root {} list -q", state_dir().string())); }
  bool mounts_left() const {
    return read_file("/proc/self/mountinfo").find(temp_.path().string()) != std::string::npos;
  }

  TempDir temp_;
  std::optional<Snapshotter> snapshotter_;
  std::string id_;
  snapshot::Mount mount_;
  std::vector<Line> lines_;
};

TEST_F(RuncExecutorTest, OutputIsStreamedLineByLineAndTheExitCodeReturned) {
  auto status = run(shell("echo hello; echo err >&2; printf 'no newline'; exit 3"));
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, 3);
  EXPECT_EQ(stdout_lines(), (std::vector<std::string>{"hello", "no newline"}));
  EXPECT_EQ(lines_of(OutputStream::err), std::vector<std::string>{"err"});
  EXPECT_EQ(runc_containers(), "");
}

TEST_F(RuncExecutorTest, FilesWrittenByTheCommandLandInTheUpperDirOnly) {
  auto status = run(shell("echo data > /made-here"));
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(read_file(mount_.upper / "made-here"), "data\n");
  EXPECT_FALSE(fs::exists(temp_.path() / "rootfs/made-here"));
}

TEST_F(RuncExecutorTest, MountPointsRuncCreatesNeverReachTheUpperDir) {
  // The rootfs has no /proc, /dev or /sys: runc makes them for its mounts.
  auto status = run(shell("ls /proc/self > /dev/null"));
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(*status, 0);
  EXPECT_TRUE(fs::is_empty(mount_.upper)) << fs::directory_iterator(mount_.upper)->path();
}

TEST_F(RuncExecutorTest, EnvWorkdirAndUserAreApplied) {
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

TEST_F(RuncExecutorTest, ContainerHasDockersConfinement) {
  auto status = run(shell(
      "grep -E '^(CapBnd|CapEff|CapAmb|NoNewPrivs)' /proc/self/status;"
      "hostname; cat /proc/kcore | wc -c;"
      "echo x > /proc/sys/kernel/domainname 2>/dev/null || echo proc-sys-readonly;"
      "touch /sys/x 2>/dev/null || echo sys-readonly"));
  ASSERT_TRUE(status) << status.error().message;
  // Docker's default capabilities without NET_RAW, MKNOD and AUDIT_WRITE:
  // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
  // NET_BIND_SERVICE SYS_CHROOT SETFCAP.
  EXPECT_EQ(stdout_lines(), (std::vector<std::string>{"CapEff:\t00000000800405fb", "CapBnd:\t00000000800405fb",
                                                      "CapAmb:\t0000000000000000", "NoNewPrivs:\t1", "strata", "0",
                                                      "proc-sys-readonly", "sys-readonly"}));
}

TEST_F(RuncExecutorTest, IsolatedNetworkHasOnlyLoopback) {
  auto status = run(shell("cat /proc/net/dev"));
  ASSERT_TRUE(status) << status.error().message;
  std::vector<std::string> interfaces;
  for (const auto& line : stdout_lines())
    if (auto colon = line.find(':'); colon != std::string::npos) interfaces.push_back(line.substr(line.find_first_not_of(' '), colon - line.find_first_not_of(' ')));
  EXPECT_EQ(interfaces, std::vector<std::string>{"lo"});
}

TEST_F(RuncExecutorTest, StepJoinsTheBuildsNetworkNamespaceWithItsEtcFiles) {
  BuildNetwork network({.dir = temp_.path() / "network", .hostname = "builder-x"});
  RunSpec spec = shell("readlink /proc/self/ns/net; hostname; cat /etc/hostname /etc/hosts; cat /proc/net/dev");
  ASSERT_TRUE(network.attach(spec, NetworkAccess::isolated));
  auto status = run(spec);
  ASSERT_TRUE(status) << status.error().message;
  struct stat ns{};
  ASSERT_EQ(::stat((temp_.path() / "network/isolated").c_str(), &ns), 0);
  auto lines = stdout_lines();
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], fmt::format("net:[{}]", ns.st_ino));
  EXPECT_EQ(lines[1], "builder-x");
  EXPECT_EQ(lines[2], "builder-x");
  EXPECT_EQ(lines[3], "127.0.0.1\tlocalhost builder-x");
  EXPECT_EQ(lines[4], "::1\tlocalhost ip6-localhost ip6-loopback");
  std::vector<std::string> interfaces;
  for (std::size_t i = 5; i < lines.size(); ++i)
    if (auto colon = lines[i].find(':'); colon != std::string::npos)
      interfaces.emplace_back(trim(std::string_view(lines[i]).substr(0, colon)));
  EXPECT_EQ(interfaces, std::vector<std::string>{"lo"});
  // The bind mounts left no stub in the step's layer.
  EXPECT_FALSE(fs::exists(mount_.upper / "etc/hosts"));
  EXPECT_FALSE(fs::exists(mount_.upper / "etc/hostname"));
}

TEST_F(RuncExecutorTest, SecretIsReadableReadOnlyAndNeverReachesTheUpperDir) {
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

TEST_F(RuncExecutorTest, StubInAnExistingDirLeavesThatDirUnchanged) {
  // /etc comes from the lower layer; runc creates /etc/resolv.conf in it.
  fs::path resolv = temp_.path() / "resolv.conf";
  std::ofstream(resolv) << "nameserver 127.0.0.1\n";
  RunSpec spec = shell("cat /etc/resolv.conf");
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

TEST_F(RuncExecutorTest, CacheMountIsWritableAndKeepsItsContent) {
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

TEST_F(RuncExecutorTest, PidsAndMemoryLimitsAreApplied) {
  RunSpec spec = shell(
      "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max;"
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max");
  spec.pids_limit = 64;
  spec.memory_limit_bytes = 256 << 20;
  auto status = run(spec);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(stdout_lines(), (std::vector<std::string>{"64", std::to_string(256 << 20)}));
}

TEST_F(RuncExecutorTest, TimeoutKillsTheContainerPromptlyAndLeavesNothing) {
  auto started = std::chrono::steady_clock::now();
  RunControl control;
  control.deadline = started + 1s;
  auto status = run(shell("sleep 30"), control);
  expect_stopped_and_gone(status, "RUN_TIMEOUT", std::chrono::steady_clock::now() - started);
}

TEST_F(RuncExecutorTest, CancellationKillsTheContainerPromptlyAndLeavesNothing) {
  std::stop_source cancel;
  std::jthread canceller([&] {
    std::this_thread::sleep_for(500ms);
    cancel.request_stop();
  });
  auto started = std::chrono::steady_clock::now();
  auto status = run(shell("sleep 30"), {.cancel = cancel.get_token()});
  expect_stopped_and_gone(status, "RUN_CANCELLED", std::chrono::steady_clock::now() - started);
}

TEST_F(RuncExecutorTest, CancellationBeforeTheContainerExistsLeavesNothing) {
  std::stop_source cancel;
  cancel.request_stop();
  auto started = std::chrono::steady_clock::now();
  auto status = run(shell("sleep 30"), {.cancel = cancel.get_token()});
  expect_stopped_and_gone(status, "RUN_CANCELLED", std::chrono::steady_clock::now() - started);
}


// The same runs in the build's user namespace: the rootfs stacked on
// idmapped views, as a build's RUN steps get it.
class UserNamespaceRunTest : public RuncExecutorTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "runc needs root";
    if (!runc_installed()) GTEST_SKIP() << "runc is not installed";
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "busybox-static is not installed";
    ::chmod(temp_.path().c_str(), 0711);  // runc reaches the rootfs bind by path as container root
    make_busybox_rootfs(temp_.path() / "rootfs");
    auto opened = Snapshotter::open(temp_.path() / "snapshots");
    ASSERT_TRUE(opened) << opened.error().message;
    snapshotter_.emplace(std::move(*opened));
    auto mapping = IdMapping::create(kIds);
    ASSERT_TRUE(mapping) << mapping.error().message;
    mapping_.emplace(std::move(*mapping));
    snapshot::MappedAccess access{.views = {}, .root_uid = kIds.host_start, .root_gid = kIds.host_start};
    for (const auto& [source, name] : {std::pair{fs::canonical(temp_.path() / "rootfs"), "rootfs"},
                                       std::pair{snapshotter_->mounts(), "mounts"}}) {
      auto view = IdMappedView::mount(source, temp_.path() / "views" / name, *mapping_);
      ASSERT_TRUE(view) << view.error().message;
      access.views.push_back({source, view->view()});
      views_.push_back(std::move(*view));
    }
    id_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto mount = snapshotter_->prepare({temp_.path() / "rootfs"}, id_, &access);
    ASSERT_TRUE(mount) << mount.error().message << " " << mount.error().detail;
    mount_ = *mount;
    fs::create_directories(temp_.path() / "rootfs-binds");
  }
  void TearDown() override {
    if (snapshotter_) (void)snapshotter_->sweep();
    views_.clear();
  }

  Result<int> run(const RunSpec& spec) {
    RuncExecutor executor({.runc = "runc", .state_dir = state_dir(), .bundle_dir = temp_.path() / "bundles",
                           .id_mapping = &*mapping_, .rootfs_binds = temp_.path() / "rootfs-binds"});
    return executor.run(id_, spec, mount_.merged, [&](OutputStream stream, std::string_view text) {
      lines_.push_back({stream, std::string(text)});
    }, {});
  }

  static constexpr sandbox::IdRange kIds{1500000000, 65536};
  std::optional<IdMapping> mapping_;
  std::vector<IdMappedView> views_;
};

TEST_F(UserNamespaceRunTest, ContainerRootIsAnUnprivilegedHostIdWhoOwnsTheImagesFiles) {
  auto status = run(shell("id -u; cat /proc/self/uid_map; ls -ln /bin/busybox | { read mode links uid gid rest; echo $uid $gid; }"));
  ASSERT_TRUE(status) << status.error().message;
  ASSERT_EQ(stdout_lines().size(), 3u);
  EXPECT_EQ(stdout_lines()[0], "0");
  std::istringstream map(stdout_lines()[1]);
  std::uint64_t inside = 1, outside = 0, count = 0;
  map >> inside >> outside >> count;
  EXPECT_EQ(inside, 0u);
  EXPECT_EQ(outside, kIds.host_start);
  EXPECT_EQ(count, kIds.size);
  EXPECT_EQ(stdout_lines()[2], "0 0");
}

TEST_F(UserNamespaceRunTest, FilesKeepTheirInContainerOwnersOnDisk) {
  auto status = run(shell("touch /by-root && touch /by-www && chown 33:44 /by-www && mkdir /d && echo ok"));
  ASSERT_TRUE(status) << status.error().message;
  ASSERT_EQ(*status, 0) << (lines_.empty() ? "" : lines_.back().text);
  struct stat by_root {}, by_www {};
  ASSERT_EQ(::stat((mount_.upper / "by-root").c_str(), &by_root), 0);
  ASSERT_EQ(::stat((mount_.upper / "by-www").c_str(), &by_www), 0);
  EXPECT_EQ(by_root.st_uid, 0u);
  EXPECT_EQ(by_root.st_gid, 0u);
  EXPECT_EQ(by_www.st_uid, 33u);
  EXPECT_EQ(by_www.st_gid, 44u);
}

TEST_F(UserNamespaceRunTest, SeccompFilterRefusesNamespacesAndCgroupNamespaceHidesTheHost) {
  auto status = run(shell("grep '^Seccomp:' /proc/self/status; cat /proc/self/cgroup | grep -v ':/$' | wc -l;"
                          "unshare -U true 2>&1 || echo unshare-refused"));
  ASSERT_TRUE(status) << status.error().message;
  auto out = stdout_lines();
  ASSERT_GE(out.size(), 3u);
  EXPECT_EQ(out[0], "Seccomp:\t2");
  EXPECT_EQ(out[1], "0");  // every hierarchy shows its namespace root
  EXPECT_NE(out.back().find("unshare-refused"), std::string::npos);
  EXPECT_NE(out[out.size() - 2].find("Operation not permitted"), std::string::npos);
}

TEST_F(UserNamespaceRunTest, SecretOwnedByHostRootIsContainerRoots) {
  fs::path secret = temp_.path() / "secret-x";
  std::ofstream(secret) << "s3cr3t";
  ::chmod(secret.c_str(), 0600);
  RunSpec spec = shell("cat /run/secrets/x; echo; ls -ln /run/secrets/x | { read mode links uid gid rest; echo $uid $gid; }");
  spec.mounts.push_back({secret, "/run/secrets/x", true});
  auto status = run(spec);
  ASSERT_TRUE(status) << status.error().message;
  auto out = stdout_lines();
  ASSERT_GE(out.size(), 2u) << (lines_.empty() ? "" : lines_.back().text);
  EXPECT_EQ(out[0], "s3cr3t");
  EXPECT_EQ(out[1], "0 0");
}

}  // namespace
}  // namespace strata::engine::exec
