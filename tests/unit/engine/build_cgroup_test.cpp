// The build cgroup: which hierarchy a host has (from mountinfo), the files a
// build's limits are written to (in a temp dir standing for the hierarchy
// root, v1 and v2), what the counters report, the lock that keeps a live
// build's cgroup from the sweep; then, as root with busybox-static, real
// steps under real limits with each runtime installed: an OOM kill and the
// process limit are seen, an honest step sees neither, and nothing is left
// once the build is gone.
#include "engine/exec/build_cgroup.h"

#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/exec/oci_runtime_executor.h"
#include "support/temp_dir.h"

namespace strata::engine::exec {
namespace {

namespace fs = std::filesystem;
using strata::testing::TempDir;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

const sandbox::BuildLimits kNoLimits{.pids = 0, .memory_bytes = 0, .cpus = 0};

// --- which hierarchy ---

TEST(CgroupHierarchyTest, AHybridHostUsesTheV1ControllersAndRemovesFromEveryHierarchy) {
  auto hierarchy = CgroupHierarchy::from_mountinfo(
      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
      "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
      "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
      "41 22 0:38 / /mnt/elsewhere rw,relatime - cgroup cgroup rw,freezer\n");
  ASSERT_TRUE(hierarchy) << hierarchy.error().message;
  EXPECT_EQ(hierarchy->version, CgroupHierarchy::Version::v1);
  EXPECT_EQ(hierarchy->memory, "/sys/fs/cgroup/memory");
  EXPECT_EQ(hierarchy->pids, "/sys/fs/cgroup/pids");
  EXPECT_EQ(hierarchy->cpu, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(hierarchy->mounts, (std::vector<fs::path>{"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory",
                                                      "/sys/fs/cgroup/pids", "/sys/fs/cgroup/systemd",
                                                      "/sys/fs/cgroup/unified"}));
}

TEST(CgroupHierarchyTest, ACgroup2MountAtTheRootIsV2) {
  auto hierarchy = CgroupHierarchy::from_mountinfo(
      "25 22 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
  ASSERT_TRUE(hierarchy) << hierarchy.error().message;
  EXPECT_EQ(hierarchy->version, CgroupHierarchy::Version::v2);
  EXPECT_EQ(hierarchy->root, "/sys/fs/cgroup");
  EXPECT_EQ(hierarchy->mounts, std::vector<fs::path>{"/sys/fs/cgroup"});
}

TEST(CgroupHierarchyTest, NoCgroupMountIsAnError) {
  auto hierarchy = CgroupHierarchy::from_mountinfo("22 1 0:21 / /sys rw - sysfs sysfs rw\n");
  ASSERT_FALSE(hierarchy);
  EXPECT_EQ(hierarchy.error().code, "CGROUP");
}

// --- limits written to a fake hierarchy ---

class FakeHierarchyTest : public ::testing::Test {
 protected:
  CgroupHierarchy v1() const {
    CgroupHierarchy hierarchy{.version = CgroupHierarchy::Version::v1, .root = root()};
    for (const char* name : {"memory", "pids", "cpu", "freezer"}) {
      fs::create_directories(root() / name);
      hierarchy.mounts.push_back(root() / name);
    }
    hierarchy.memory = root() / "memory";
    hierarchy.pids = root() / "pids";
    hierarchy.cpu = root() / "cpu";
    return hierarchy;
  }
  CgroupHierarchy v2() const {
    write_file(root() / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    write_file(root() / "cgroup.subtree_control", "memory\n");
    return {.version = CgroupHierarchy::Version::v2, .root = root(), .mounts = {root()}};
  }
  fs::path root() const { return temp_.path() / "cgroup"; }
  fs::path locks() const { return temp_.path() / "locks"; }

  TempDir temp_;
};

TEST_F(FakeHierarchyTest, V1LimitsGoToEachControllersHierarchy) {
  auto cgroup = BuildCgroup::create(v1(), "b1", {.pids = 4096, .memory_bytes = 1 << 30, .cpus = 1.5}, locks());
  ASSERT_TRUE(cgroup) << cgroup.error().message;
  EXPECT_EQ(read_file(root() / "pids/strata/b1/pids.max"), "4096");
  EXPECT_EQ(read_file(root() / "memory/strata/b1/memory.limit_in_bytes"), "1073741824");
  EXPECT_EQ(read_file(root() / "cpu/strata/b1/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(read_file(root() / "cpu/strata/b1/cpu.cfs_quota_us"), "150000");
  // The OOM watch is registered on the build's own memory cgroup.
  EXPECT_TRUE(fs::exists(root() / "memory/strata/b1/cgroup.event_control"));
  // A runtime creates the rest of the path in every hierarchy.
  EXPECT_FALSE(fs::exists(root() / "freezer/strata/b1"));
  EXPECT_EQ(cgroup->step_path("b1-step3"), "/strata/b1/b1-step3");
}

TEST_F(FakeHierarchyTest, V1SwapIsLimitedToTheMemoryLimitWhereTheKernelAccountsIt) {
  write_file(root() / "memory/strata/b1/memory.memsw.limit_in_bytes", "9223372036854771712");
  auto cgroup = BuildCgroup::create(v1(), "b1", {.pids = 0, .memory_bytes = 512 << 20, .cpus = 0}, locks());
  ASSERT_TRUE(cgroup) << cgroup.error().message;
  EXPECT_EQ(read_file(root() / "memory/strata/b1/memory.memsw.limit_in_bytes"), "536870912");
}

TEST_F(FakeHierarchyTest, V2LimitsAreEnabledFromTheRootAndWrittenWithoutSwap) {
  auto hierarchy = v2();
  write_file(root() / "strata/b1/memory.swap.max", "max");
  auto cgroup = BuildCgroup::create(hierarchy, "b1", {.pids = 100, .memory_bytes = 1 << 30, .cpus = 0.5}, locks());
  ASSERT_TRUE(cgroup) << cgroup.error().message;
  // memory was enabled at the root already: only the missing ones are asked for.
  EXPECT_EQ(read_file(root() / "cgroup.subtree_control"), "+pids +cpu");
  EXPECT_EQ(read_file(root() / "strata/cgroup.subtree_control"), "+pids +memory +cpu");
  EXPECT_EQ(read_file(root() / "strata/b1/pids.max"), "100");
  EXPECT_EQ(read_file(root() / "strata/b1/memory.max"), "1073741824");
  EXPECT_EQ(read_file(root() / "strata/b1/memory.swap.max"), "0");
  EXPECT_EQ(read_file(root() / "strata/b1/cpu.max"), "50000 100000");
}

TEST_F(FakeHierarchyTest, NoLimitsWriteNoLimitFiles) {
  auto cgroup = BuildCgroup::create(v2(), "b1", kNoLimits, locks());
  ASSERT_TRUE(cgroup) << cgroup.error().message;
  EXPECT_TRUE(fs::is_directory(root() / "strata/b1"));
  for (const char* file : {"pids.max", "memory.max", "cpu.max"}) EXPECT_FALSE(fs::exists(root() / "strata/b1" / file));
}

TEST_F(FakeHierarchyTest, ALimitWithoutItsControllerIsRefused) {
  auto hierarchy = v1();
  hierarchy.pids.clear();
  auto cgroup = BuildCgroup::create(hierarchy, "b1", {.pids = 10, .memory_bytes = 0, .cpus = 0}, locks());
  ASSERT_FALSE(cgroup);
  EXPECT_EQ(cgroup.error().code, "CGROUP");
  EXPECT_NE(cgroup.error().message.find("pids"), std::string::npos) << cgroup.error().message;
}

TEST_F(FakeHierarchyTest, AnUnusableNameIsRefused) {
  for (const char* name : {"", "..", "a/b", "a b"})
    EXPECT_FALSE(BuildCgroup::create(v1(), name, kNoLimits, locks())) << name;
}

TEST_F(FakeHierarchyTest, V2CountersTellWhatAStepRanInto) {
  auto cgroup = BuildCgroup::create(v2(), "b1", {.pids = 10, .memory_bytes = 1 << 20, .cpus = 0}, locks());
  ASSERT_TRUE(cgroup) << cgroup.error().message;
  fs::path dir = root() / "strata/b1";
  write_file(dir / "memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n");
  write_file(dir / "pids.events", "max 0\n");
  auto before = cgroup->counters();
  EXPECT_FALSE(cgroup->hit_since(before).memory);
  write_file(dir / "memory.events", "low 0\nhigh 0\nmax 40\noom 2\noom_kill 2\noom_group_kill 0\n");
  write_file(dir / "pids.events", "max 3\n");
  auto hit = cgroup->hit_since(before);
  EXPECT_TRUE(hit.memory);
  EXPECT_TRUE(hit.pids);
}

TEST_F(FakeHierarchyTest, V1ProcessLimitIsSeenFromThePeakReachingIt) {
  auto cgroup = BuildCgroup::create(v1(), "b1", {.pids = 10, .memory_bytes = 0, .cpus = 0}, locks());
  ASSERT_TRUE(cgroup) << cgroup.error().message;
  fs::path dir = root() / "pids/strata/b1";
  write_file(dir / "pids.peak", "4\n");
  auto before = cgroup->counters();
  write_file(dir / "pids.peak", "9\n");
  EXPECT_FALSE(cgroup->hit_since(before).pids);
  write_file(dir / "pids.peak", "10\n");
  EXPECT_TRUE(cgroup->hit_since(before).pids);
}

// --- lifetime: lock, sweep, removal ---

TEST_F(FakeHierarchyTest, ASecondBuilderOfTheSameBuildIsRefused) {
  auto first = BuildCgroup::create(v1(), "b1", kNoLimits, locks());
  ASSERT_TRUE(first) << first.error().message;
  auto second = BuildCgroup::create(v1(), "b1", kNoLimits, locks());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, "CGROUP_BUSY");
}

TEST_F(FakeHierarchyTest, TheSweepRemovesDeadBuildsCgroupsAndKeepsLiveOnes) {
  auto hierarchy = v1();
  auto live = BuildCgroup::create(hierarchy, "live", kNoLimits, locks());
  ASSERT_TRUE(live) << live.error().message;
  // What a killed builder leaves: its cgroup with a step's child, in
  // hierarchies it limited and ones runc made, and maybe its lock file.
  for (const char* hierarchy_name : {"memory", "pids", "freezer"})
    fs::create_directories(root() / hierarchy_name / "strata/dead/dead-step1");
  write_file(locks() / "dead.lock", "");
  auto next = BuildCgroup::create(hierarchy, "next", kNoLimits, locks());
  ASSERT_TRUE(next) << next.error().message;
  for (const char* hierarchy_name : {"memory", "pids", "freezer"})
    EXPECT_FALSE(fs::exists(root() / hierarchy_name / "strata/dead")) << hierarchy_name;
  EXPECT_FALSE(fs::exists(locks() / "dead.lock"));
  EXPECT_TRUE(fs::is_directory(root() / "memory/strata/live"));
  EXPECT_TRUE(fs::exists(locks() / "live.lock"));
}

TEST_F(FakeHierarchyTest, TheBuildsCgroupIsGoneWithItFromEveryHierarchy) {
  {
    auto cgroup = BuildCgroup::create(v1(), "b1", kNoLimits, locks());
    ASSERT_TRUE(cgroup) << cgroup.error().message;
    fs::create_directories(root() / "freezer/strata/b1/b1-step1");  // as runc leaves it
    auto moved = std::move(*cgroup);  // the moved-from one removes nothing
    EXPECT_TRUE(fs::is_directory(root() / "memory/strata/b1"));
  }
  for (const char* hierarchy_name : {"memory", "pids", "cpu", "freezer"})
    EXPECT_FALSE(fs::exists(root() / hierarchy_name / "strata/b1")) << hierarchy_name;
  EXPECT_FALSE(fs::exists(locks() / "b1.lock"));
}

// --- real steps under real limits ---

class RealCgroupTest : public ::testing::TestWithParam<sandbox::RuntimeKind> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "cgroups and OCI runtimes need root";
    auto runtime = OciRuntime::locate(GetParam());
    if (!runtime) GTEST_SKIP() << runtime.error().message;
    runtime_.emplace(std::move(*runtime));
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "busybox-static is not installed";
    auto hierarchy = CgroupHierarchy::detect();
    if (!hierarchy) GTEST_SKIP() << hierarchy.error().message;
    hierarchy_ = *hierarchy;
    fs::path rootfs = temp_.path() / "rootfs";
    fs::create_directories(rootfs / "bin");
    fs::copy_file("/bin/busybox", rootfs / "bin/busybox");
    for (const char* applet : {"sh", "dd", "sleep", "seq", "echo"}) fs::create_symlink("busybox", rootfs / "bin" / applet);
    name_ = fmt::format("unit-{}", ::getpid());
  }

  // Runs `command` as step `step` of the build in `cgroup`; its exit code.
  int run_step(BuildCgroup& cgroup, const std::string& step, const std::string& command) {
    OciRuntimeExecutor executor(
        {.runtime = *runtime_, .state_dir = temp_.path() / "state", .bundle_dir = temp_.path() / "bundles"});
    RunSpec spec;
    spec.args = shell_form_args({}, command);
    spec.cgroups_path = cgroup.step_path(step);
    auto status = executor.run(step, spec, temp_.path() / "rootfs", [](OutputStream, std::string_view) {}, {});
    EXPECT_TRUE(status) << status.error().message;
    return status.value_or(-1);
  }

  bool left_anywhere() const {
    for (const auto& mount : hierarchy_.mounts)
      if (fs::exists(mount / "strata" / name_)) return true;
    return false;
  }

  TempDir temp_;
  std::optional<OciRuntime> runtime_;
  CgroupHierarchy hierarchy_;
  std::string name_;
};

TEST_P(RealCgroupTest, AStepPastTheMemoryLimitIsKilledAndTheBuildSeesIt) {
  {
    auto cgroup = BuildCgroup::create(hierarchy_, name_, {.pids = 64, .memory_bytes = 32 << 20, .cpus = 0});
    ASSERT_TRUE(cgroup) << cgroup.error().message;
    auto before = cgroup->counters();
    // dd holds its whole 256 MiB block in memory.
    EXPECT_NE(run_step(*cgroup, name_ + "-1", "dd if=/dev/zero of=/dev/null bs=256M count=1"), 0);
    auto hit = cgroup->hit_since(before);
    EXPECT_TRUE(hit.memory);
    EXPECT_FALSE(hit.pids);

    before = cgroup->counters();
    EXPECT_EQ(run_step(*cgroup, name_ + "-2", "dd if=/dev/zero of=/dev/null bs=1M count=4"), 0);
    EXPECT_FALSE(cgroup->hit_since(before).memory);
  }
  EXPECT_FALSE(left_anywhere());
}

TEST_P(RealCgroupTest, AStepForkingPastTheProcessLimitFailsAndTheBuildSeesIt) {
  // Under runsc a step's processes are tasks of gVisor's kernel, not host
  // processes: the host's process limit counts the sandbox's own threads.
  if (GetParam() == sandbox::RuntimeKind::runsc) GTEST_SKIP() << "runsc's steps are not host processes";
  {
    auto cgroup = BuildCgroup::create(hierarchy_, name_, {.pids = 16, .memory_bytes = 256 << 20, .cpus = 0.5});
    ASSERT_TRUE(cgroup) << cgroup.error().message;
    auto before = cgroup->counters();
    EXPECT_EQ(run_step(*cgroup, name_ + "-1", "for i in $(seq 1 8); do sleep 0.1 & done; wait"), 0);
    EXPECT_FALSE(cgroup->hit_since(before).pids);

    before = cgroup->counters();
    EXPECT_NE(run_step(*cgroup, name_ + "-2", "set -e; for i in $(seq 1 64); do sleep 2 & done; wait"), 0);
    auto hit = cgroup->hit_since(before);
    EXPECT_TRUE(hit.pids);
    EXPECT_FALSE(hit.memory);
  }
  EXPECT_FALSE(left_anywhere());
}

INSTANTIATE_TEST_SUITE_P(Runtimes, RealCgroupTest,
                         ::testing::Values(sandbox::RuntimeKind::runc, sandbox::RuntimeKind::crun,
                                           sandbox::RuntimeKind::runsc),
                         [](const auto& info) { return std::string(sandbox::runtime_name(info.param)); });

}  // namespace
}  // namespace strata::engine::exec
