#include "engine/snapshot/snapshotter.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace strata::engine::snapshot {
namespace {

namespace fs = std::filesystem;
using strata::testing::TempDir;

const std::string kDiffId = "sha256:" + std::string(64, 'a');

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

bool mounted_under(const fs::path& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.find(" " + dir.string() + "/") != std::string::npos) return true;
  return false;
}

class SnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Snapshotter::open(temp_.path() / "snapshots");
    ASSERT_TRUE(opened) << opened.error().message;
    snapshotter_.emplace(std::move(*opened));
  }
  void TearDown() override {
    if (snapshotter_) (void)snapshotter_->sweep();  // never leave a mount behind for TempDir to delete through
  }
  void require_mounting() {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting overlayfs needs root";
    if (read_file("/proc/filesystems").find("overlay") == std::string::npos) GTEST_SKIP() << "no overlayfs";
  }
  fs::path make_layer(const std::string& name, const std::string& file, const std::string& text) {
    fs::path dir = temp_.path() / name;
    write_file(dir / file, text);
    return dir;
  }

  TempDir temp_;
  std::optional<Snapshotter> snapshotter_;
};

TEST_F(SnapshotterTest, LayerIsUnpackedOnceWhenManyThreadsAskForIt) {
  std::atomic<int> unpacks = 0;
  auto unpack = [&](const fs::path& dir) -> Result<void> {
    ++unpacks;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    write_file(dir / "etc/os-release", "busybox\n");
    return {};
  };
  std::vector<std::thread> threads;
  std::vector<Result<fs::path>> results(8, fs::path());
  for (std::size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] { results[i] = snapshotter_->layer(kDiffId, unpack); });
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(unpacks, 1);
  for (const auto& result : results) {
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(*result, snapshotter_->root() / "layers" / std::string(64, 'a'));
    EXPECT_EQ(read_file(*result / "etc/os-release"), "busybox\n");
  }
  EXPECT_TRUE(fs::is_empty(snapshotter_->root() / "tmp"));
}

TEST_F(SnapshotterTest, FailedUnpackLeavesNothingAndCanBeRetried) {
  auto failed = snapshotter_->layer(kDiffId, [](const fs::path& dir) -> Result<void> {
    write_file(dir / "half", "x");
    return fail("LAYER_INVALID", "truncated tar");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, "LAYER_INVALID");
  EXPECT_FALSE(fs::exists(snapshotter_->root() / "layers" / std::string(64, 'a')));
  EXPECT_TRUE(fs::is_empty(snapshotter_->root() / "tmp"));

  auto retried = snapshotter_->layer(kDiffId, [](const fs::path& dir) -> Result<void> {
    write_file(dir / "whole", "x");
    return {};
  });
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_TRUE(fs::exists(*retried / "whole"));
  EXPECT_FALSE(fs::exists(*retried / "half"));
}

TEST_F(SnapshotterTest, MalformedDiffIdsAndMountIdsAreRejected) {
  auto never = [](const fs::path&) -> Result<void> { return fail("TEST", "must not unpack"); };
  for (const std::string& bad : std::vector<std::string>{"sha256:../../etc", "md5:abc", "sha256:" + std::string(64, 'A'), std::string(64, 'a')}) {
    auto result = snapshotter_->layer(bad, never);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().code, "SNAPSHOT_INVALID") << bad;
  }
  for (const std::string& bad : std::vector<std::string>{"", "../x", ".hidden", "a/b", std::string(65, 'x')}) {
    auto result = snapshotter_->prepare({}, bad);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().code, "SNAPSHOT_INVALID") << bad;
  }
}

TEST_F(SnapshotterTest, MergedViewShowsTopMostParentAndWritesGoToUpperOnly) {
  require_mounting();
  fs::path base = make_layer("base", "etc/motd", "base\n");
  write_file(base / "etc/base-only", "kept\n");
  fs::path top = make_layer("top", "etc/motd", "top\n");

  auto mount = snapshotter_->prepare({base, top}, "step-1");
  ASSERT_TRUE(mount) << mount.error().message << " " << mount.error().detail;
  EXPECT_EQ(read_file(mount->merged / "etc/motd"), "top\n");
  EXPECT_EQ(read_file(mount->merged / "etc/base-only"), "kept\n");

  write_file(mount->merged / "etc/new", "written\n");
  EXPECT_EQ(read_file(mount->upper / "etc/new"), "written\n");
  EXPECT_FALSE(fs::exists(base / "etc/new"));
  EXPECT_FALSE(fs::exists(top / "etc/new"));

  ASSERT_TRUE(snapshotter_->release(*mount));
  EXPECT_FALSE(mounted_under(snapshotter_->root()));
  EXPECT_FALSE(fs::exists(mount->merged));
  EXPECT_FALSE(fs::exists(mount->work));
  EXPECT_EQ(read_file(mount->upper / "etc/new"), "written\n");

  ASSERT_TRUE(snapshotter_->discard(*mount));
  EXPECT_FALSE(fs::exists(mount->upper));
}

TEST_F(SnapshotterTest, ScratchMountStartsEmptyAndIsWritable) {
  require_mounting();
  auto mount = snapshotter_->prepare({}, "scratch");
  ASSERT_TRUE(mount) << mount.error().message;
  EXPECT_TRUE(fs::is_empty(mount->merged));
  write_file(mount->merged / "hello", "hi\n");
  EXPECT_EQ(read_file(mount->upper / "hello"), "hi\n");
  EXPECT_TRUE(fs::is_empty(snapshotter_->root() / "empty"));
  ASSERT_TRUE(snapshotter_->discard(*mount));
}

TEST_F(SnapshotterTest, ManyParentsWithLongPathsBeyondOnePageStillMount) {
  require_mounting();
  std::vector<fs::path> parents;
  for (int i = 0; i < 120; ++i)  // 120 paths of ~100+ bytes: far over 4096 as absolute lowerdirs
    parents.push_back(make_layer(fmt::format("layer-{:03}-{}", i, std::string(60, 'p')), fmt::format("f{}", i), "x"));
  write_file(parents.front() / "shadowed", "lowest\n");
  write_file(parents.back() / "shadowed", "highest\n");

  auto mount = snapshotter_->prepare(parents, "deep");
  ASSERT_TRUE(mount) << mount.error().message << " " << mount.error().detail;
  EXPECT_TRUE(fs::exists(mount->merged / "f0"));
  EXPECT_TRUE(fs::exists(mount->merged / "f119"));
  EXPECT_EQ(read_file(mount->merged / "shadowed"), "highest\n");
  ASSERT_TRUE(snapshotter_->discard(*mount));
}

TEST_F(SnapshotterTest, MountIdInUseIsRejected) {
  require_mounting();
  auto first = snapshotter_->prepare({}, "same");
  ASSERT_TRUE(first);
  auto second = snapshotter_->prepare({}, "same");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, "SNAPSHOT_EXISTS");
  EXPECT_TRUE(fs::exists(first->merged));
  ASSERT_TRUE(snapshotter_->discard(*first));
}

TEST_F(SnapshotterTest, SweepUnmountsAndRemovesWhatACrashedBuildLeft) {
  require_mounting();
  auto layer = snapshotter_->layer(kDiffId, [](const fs::path& dir) -> Result<void> {
    write_file(dir / "bin/sh", "#!");
    return {};
  });
  ASSERT_TRUE(layer);
  ASSERT_TRUE(snapshotter_->prepare({*layer}, "left-1"));
  ASSERT_TRUE(snapshotter_->prepare({*layer}, "left-2"));
  fs::create_directories(snapshotter_->root() / "tmp" / "half-unpacked");

  // A new builder process starting on the same root.
  auto restarted = Snapshotter::open(temp_.path() / "snapshots");
  ASSERT_TRUE(restarted);
  auto swept = restarted->sweep();
  ASSERT_TRUE(swept) << swept.error().message;
  EXPECT_EQ(*swept, 2u);
  EXPECT_FALSE(mounted_under(snapshotter_->root()));
  EXPECT_TRUE(fs::is_empty(snapshotter_->root() / "mounts"));
  EXPECT_TRUE(fs::is_empty(snapshotter_->root() / "tmp"));
  EXPECT_TRUE(fs::exists(*layer / "bin/sh"));
}

}  // namespace
}  // namespace strata::engine::snapshot
