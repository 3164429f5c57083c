// What each runtime is asked to do for a step (flags, config.json, mount
// points), without running a container: the runtime is /bin/true.
#include "engine/exec/oci_runtime.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace strata::engine::exec {
namespace {

namespace fs = std::filesystem;
using sandbox::RuntimeKind;
using strata::testing::TempDir;

class OciRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(rootfs()); }

  static OciRuntime runtime(RuntimeKind kind) {
    auto located = OciRuntime::locate(kind, "/bin/true");
    EXPECT_TRUE(located) << located.error().message;
    return *located;
  }
  fs::path rootfs() const { return temp_.path() / "rootfs"; }
  static RunSpec step() {
    RunSpec spec;
    spec.args = {"/bin/sh", "-c", "true"};
    return spec;
  }
  static bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
  }
  static std::vector<std::string> tmp_mounts(const std::string& config) {
    std::vector<std::string> sources;
    auto doc = nlohmann::json::parse(config);
    for (const auto& mount : doc["mounts"])
      if (mount["destination"] == "/tmp") sources.push_back(mount["source"]);
    return sources;
  }

  TempDir temp_;
};

TEST_F(OciRuntimeTest, AMissingRuntimeIsAClearError) {
  auto located = OciRuntime::locate(RuntimeKind::runsc, (temp_.path() / "runsc").string());
  ASSERT_FALSE(located);
  EXPECT_EQ(located.error().code, "RUNTIME_NOT_FOUND");
  EXPECT_NE(located.error().message.find("runsc"), std::string::npos);
}

TEST_F(OciRuntimeTest, CommandsUseTheBinaryAndTheStateDir) {
  auto argv = runtime(RuntimeKind::crun).command("/state", {"--flag"});
  EXPECT_EQ(argv, (std::vector<std::string>{"/bin/true", "--root", "/state", "--flag"}));
}

TEST_F(OciRuntimeTest, RuncAndCrunGetTheSpecAsItIs) {
  for (auto kind : {RuntimeKind::runc, RuntimeKind::crun}) {
    RunSpec spec = step();
    spec.network = NetworkAccess::egress;
    spec.ids = sandbox::IdRange{};
    auto invocation = runtime(kind).invocation(spec, rootfs());
    ASSERT_TRUE(invocation) << invocation.error().message;
    EXPECT_TRUE(invocation->run_flags.empty());
    EXPECT_EQ(invocation->config, runtime_spec_json(spec, rootfs()));
    EXPECT_EQ(invocation->mount_points, rootfs_mount_points(spec));
  }
}

TEST_F(OciRuntimeTest, RunscRunsAnIsolatedStepOnGvisorsOwnLoopbackWithoutAnOverlay) {
  auto invocation = runtime(RuntimeKind::runsc).invocation(step(), rootfs());
  ASSERT_TRUE(invocation) << invocation.error().message;
  EXPECT_EQ(invocation->run_flags, (std::vector<std::string>{"--network=none", "--overlay2=none"}));
}

TEST_F(OciRuntimeTest, RunscGivesAStepWithNetworkAccessTheSpecsNamespace) {
  RunSpec spec = step();
  spec.network = NetworkAccess::egress;
  auto invocation = runtime(RuntimeKind::runsc).invocation(spec, rootfs());
  ASSERT_TRUE(invocation) << invocation.error().message;
  EXPECT_TRUE(contains(invocation->run_flags, "--network=host"));
}

TEST_F(OciRuntimeTest, RunscRefusesAStepWithNetworkAccessInAUserNamespace) {
  RunSpec spec = step();
  spec.network = NetworkAccess::egress;
  spec.ids = sandbox::IdRange{};
  auto invocation = runtime(RuntimeKind::runsc).invocation(spec, rootfs());
  ASSERT_FALSE(invocation);
  EXPECT_EQ(invocation.error().code, "RUNTIME_UNSUPPORTED");

  spec.network = NetworkAccess::isolated;  // isolated steps keep their user namespace
  EXPECT_TRUE(runtime(RuntimeKind::runsc).invocation(spec, rootfs()));
}

TEST_F(OciRuntimeTest, RunscBindsAnExistingTmpOverItselfSoItsFilesReachTheLayer) {
  fs::create_directories(rootfs() / "tmp");
  auto invocation = runtime(RuntimeKind::runsc).invocation(step(), rootfs());
  ASSERT_TRUE(invocation) << invocation.error().message;
  EXPECT_EQ(tmp_mounts(invocation->config), std::vector<std::string>{(rootfs() / "tmp").string()});
  EXPECT_TRUE(contains(invocation->mount_points, "/tmp"));  // exists: never removed as a stub
}

TEST_F(OciRuntimeTest, RunscReportsAMissingTmpAsAMountPointItMayCreate) {
  auto invocation = runtime(RuntimeKind::runsc).invocation(step(), rootfs());
  ASSERT_TRUE(invocation) << invocation.error().message;
  EXPECT_TRUE(tmp_mounts(invocation->config).empty());
  EXPECT_TRUE(contains(invocation->mount_points, "/tmp"));
}

TEST_F(OciRuntimeTest, RunscLeavesATmpMountTheStepAskedFor) {
  fs::create_directories(rootfs() / "tmp");
  RunSpec spec = step();
  spec.mounts.push_back({.source = temp_.path() / "cache", .destination = "/tmp", .readonly = false});
  auto invocation = runtime(RuntimeKind::runsc).invocation(spec, rootfs());
  ASSERT_TRUE(invocation) << invocation.error().message;
  EXPECT_EQ(tmp_mounts(invocation->config), std::vector<std::string>{(temp_.path() / "cache").string()});
}

TEST_F(OciRuntimeTest, RunscShowsItsOwnSysfsNeverABindOfTheHostsSys) {
  RunSpec spec = step();
  spec.mounts.push_back({.source = "/sys", .destination = "/sys", .readonly = true});
  auto invocation = runtime(RuntimeKind::runsc).invocation(spec, rootfs());
  ASSERT_TRUE(invocation) << invocation.error().message;
  auto config = nlohmann::json::parse(invocation->config);
  int sys_mounts = 0;
  for (const auto& mount : config["mounts"])
    if (mount["destination"] == "/sys") {
      ++sys_mounts;
      EXPECT_EQ(mount["type"], "sysfs") << mount.dump();
    }
  EXPECT_GT(sys_mounts, 0);
}

}  // namespace
}  // namespace strata::engine::exec
