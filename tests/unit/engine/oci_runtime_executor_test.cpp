// Integration tests: each OCI runtime (runc, crun, runsc) over a real
// overlayfs snapshot of a busybox rootfs made from Debian's busybox-static.
// A runtime's tests are skipped only when its binary is not installed (or
// not run as root, or without /bin/busybox); a runtime that is installed
// but cannot run here fails them.
#include "engine/exec/oci_runtime_executor.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <functional>
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

const auto kRuntimes =
    ::testing::Values(sandbox::RuntimeKind::runc, sandbox::RuntimeKind::crun, sandbox::RuntimeKind::runsc);
std::string runtime_test_name(const ::testing::TestParamInfo<sandbox::RuntimeKind>& info) {
  return std::string(sandbox::runtime_name(info.param));
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
    id_ = test_id();
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

  // The container (and mount) id: the test's name, cut to fit the 64
  // characters a mount id may have, and the runtime's.
  static std::string test_id() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    name = name.substr(0, name.find('/'));
    return name.substr(0, 50) + "." + std::string(sandbox::runtime_name(GetParam()));
  }

  RunSpec shell(const std::string& command) const {
    RunSpec spec;
    spec.args = shell_form_args({}, command);
    return spec;
  }

  // `on_first_line` runs when the container prints its first line (while it
  // is still running).
  Result<int> run(const RunSpec& spec, const RunControl& control = {}, const std::function<void()>& on_first_line = {}) {
    OciRuntimeExecutor executor({.runtime = *runtime_, .state_dir = state_dir(), .bundle_dir = temp_.path() / "bundles",
                                 .id_mapping = nullptr, .rootfs_binds = {}});
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
  // Docker's default capabilities without NET_RAW, MKNOD and AUDIT_WRITE:
  // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
  // NET_BIND_SERVICE SYS_CHROOT SETFCAP. runsc's /proc shows no CapAmb or
  // NoNewPrivs.
  std::vector<std::string> expected = {"CapEff:\t00000000800405fb", "CapBnd:\t00000000800405fb"};
  if (GetParam() != sandbox::RuntimeKind::runsc) expected.insert(expected.end(), {"CapAmb:\t0000000000000000", "NoNewPrivs:\t1"});
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

TEST_P(OciRuntimeExecutorTest, StepJoinsTheBuildsNetworkNamespaceWithItsEtcFiles) {
  BuildNetwork network({.dir = temp_.path() / "network", .hostname = "builder-x"});
  RunSpec spec = shell("readlink /proc/self/ns/net; hostname; cat /etc/hostname /etc/hosts; cat /proc/net/dev");
  ASSERT_TRUE(network.attach(spec, NetworkAccess::isolated));
  auto status = run(spec);
  ASSERT_TRUE(status) << status.error().message;
  struct stat ns{};
  ASSERT_EQ(::stat((temp_.path() / "network/isolated").c_str(), &ns), 0);
  auto lines = stdout_lines();
  ASSERT_GE(lines.size(), 5u);
  // runsc's kernel shows its own namespace (its sandbox is in the build's).
  if (GetParam() != sandbox::RuntimeKind::runsc) EXPECT_EQ(lines[0], fmt::format("net:[{}]", ns.st_ino));
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

INSTANTIATE_TEST_SUITE_P(Runtimes, OciRuntimeExecutorTest, kRuntimes, runtime_test_name);

// The same runs in the build's user namespace: the rootfs stacked on
// idmapped views, as a build's RUN steps get it.
class UserNamespaceRunTest : public OciRuntimeExecutorTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "OCI runtimes need root";
    auto runtime = OciRuntime::locate(GetParam());
    if (!runtime) GTEST_SKIP() << runtime.error().message;
    runtime_.emplace(std::move(*runtime));
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "busybox-static is not installed";
    ::chmod(temp_.path().c_str(), 0711);  // the runtime reaches the rootfs bind by path as container root
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
    id_ = test_id();
    auto mount = snapshotter_->prepare({temp_.path() / "rootfs"}, id_, &access);
    ASSERT_TRUE(mount) << mount.error().message << " " << mount.error().detail;
    mount_ = *mount;
    fs::create_directories(temp_.path() / "rootfs-binds");
  }
  void TearDown() override {
    if (snapshotter_) (void)snapshotter_->sweep();
    views_.clear();
  }

  Result<int> run(const RunSpec& spec, const std::function<void()>& on_first_line = {}) {
    OciRuntimeExecutor executor({.runtime = *runtime_, .state_dir = state_dir(), .bundle_dir = temp_.path() / "bundles",
                                 .id_mapping = &*mapping_, .rootfs_binds = temp_.path() / "rootfs-binds"});
    return executor.run(id_, spec, mount_.merged, [&](OutputStream stream, std::string_view text) {
      if (lines_.empty() && on_first_line) on_first_line();
      lines_.push_back({stream, std::string(text)});
    }, {});
  }

  // The first line of a uid_map: inside, outside, count.
  static std::array<std::uint64_t, 3> uid_map_entry(const std::string& text) {
    std::istringstream map(text);
    std::array<std::uint64_t, 3> entry{1, 1, 1};
    map >> entry[0] >> entry[1] >> entry[2];
    return entry;
  }

  static constexpr sandbox::IdRange kIds{1500000000, 65536};
  std::optional<IdMapping> mapping_;
  std::vector<IdMappedView> views_;
};

TEST_P(UserNamespaceRunTest, ContainerRootIsAnUnprivilegedHostIdWhoOwnsTheImagesFiles) {
  auto status = run(shell("id -u; cat /proc/self/uid_map; ls -ln /bin/busybox | { read mode links uid gid rest; echo $uid $gid; }"));
  ASSERT_TRUE(status) << status.error().message;
  ASSERT_EQ(stdout_lines().size(), 3u);
  EXPECT_EQ(stdout_lines()[0], "0");
  // runsc's step sees gVisor's own root namespace; on the host, its
  // processes are in the build's (NoProcessOfTheStepRunsInTheHostsUserNamespace).
  auto expected = GetParam() == sandbox::RuntimeKind::runsc ? std::array<std::uint64_t, 3>{0, 0, 4294967295}
                                                            : std::array<std::uint64_t, 3>{0, kIds.host_start, kIds.size};
  EXPECT_EQ(uid_map_entry(stdout_lines()[1]), expected);
  EXPECT_EQ(stdout_lines()[2], "0 0");
}

TEST_P(UserNamespaceRunTest, NoProcessOfTheStepRunsInTheHostsUserNamespace) {
  // Every process in the step's cgroup: the container's under runc and crun,
  // gVisor's kernel and file proxy under runsc.
  RunSpec spec = shell("echo up; sleep 1");
  spec.cgroups_path = "/strata-test/" + id_;
  std::vector<std::array<std::uint64_t, 3>> maps;
  auto status = run(spec, [&] {
    std::istringstream pids(host_cgroup_file("pids", "cgroup.procs", "cgroup.procs"));
    for (std::string pid; pids >> pid;) maps.push_back(uid_map_entry(read_file("/proc/" + pid + "/uid_map")));
  });
  ASSERT_TRUE(status) << status.error().message;
  ASSERT_FALSE(maps.empty());
  const std::array<std::uint64_t, 3> host{0, 0, 4294967295}, build{0, kIds.host_start, kIds.size};
  for (const auto& map : maps) {
    EXPECT_NE(map, host);
    if (map[1] == 65534) continue;  // runsc's kernel: host nobody, in a namespace of its own
    EXPECT_EQ(map, build);
  }
  EXPECT_NE(std::find(maps.begin(), maps.end(), build), maps.end());  // under runsc: its file proxy
}

TEST_P(UserNamespaceRunTest, FilesKeepTheirInContainerOwnersOnDisk) {
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

TEST_P(UserNamespaceRunTest, SeccompFilterRefusesNamespacesAndCgroupNamespaceHidesTheHost) {
  auto status = run(shell("grep '^Seccomp:' /proc/self/status; cat /proc/self/cgroup | grep -v ':/$' | wc -l;"
                          "unshare -U true 2>&1 || echo unshare-refused"));
  ASSERT_TRUE(status) << status.error().message;
  auto out = stdout_lines();
  if (GetParam() == sandbox::RuntimeKind::runsc) {
    // The step's calls are gVisor's (oci_runtime.h): no host filter shows,
    // the namespace it makes is gVisor's, and it sees no host cgroup.
    EXPECT_EQ(out, (std::vector<std::string>{"Seccomp:\t0", "0"}));
    return;
  }
  ASSERT_GE(out.size(), 3u);
  EXPECT_EQ(out[0], "Seccomp:\t2");
  EXPECT_EQ(out[1], "0");  // every hierarchy shows its namespace root
  EXPECT_NE(out.back().find("unshare-refused"), std::string::npos);
  EXPECT_NE(out[out.size() - 2].find("Operation not permitted"), std::string::npos);
}

TEST_P(UserNamespaceRunTest, SecretOwnedByHostRootIsContainerRoots) {
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

INSTANTIATE_TEST_SUITE_P(Runtimes, UserNamespaceRunTest, kRuntimes, runtime_test_name);

}  // namespace
}  // namespace strata::engine::exec
