#include "engine/snapshot/unchanged_dirs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace strata::engine::snapshot {
namespace {

namespace fs = std::filesystem;
using strata::testing::TempDir;

class UnchangedDirsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* dir : {"lower/etc", "lower/srv/data", "upper"}) fs::create_directories(temp_.path() / dir);
  }
  fs::path lower() const { return temp_.path() / "lower"; }
  fs::path upper() const { return temp_.path() / "upper"; }

  // A copy-up of lower/<relative>: a dir with the same mode, owner and times.
  void copy_up(const std::string& relative) {
    fs::path target = upper() / relative;
    fs::create_directories(target);
    struct stat st {};
    ASSERT_EQ(::stat((lower() / relative).c_str(), &st), 0);
    ASSERT_EQ(::chmod(target.c_str(), st.st_mode & 07777), 0);
    ASSERT_EQ(::lchown(target.c_str(), st.st_uid, st.st_gid), 0);
    timespec times[2] = {st.st_atim, st.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, target.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  }

  void prune() {
    auto pruned = remove_unchanged_dirs(upper(), {temp_.path() / "empty-lower", lower()});
    ASSERT_TRUE(pruned) << pruned.error().message;
  }

  TempDir temp_;
};

TEST_F(UnchangedDirsTest, AnEmptyCopyUpLeavesTheUpperDir) {
  copy_up("etc");
  copy_up("srv/data");  // children first: making one touches the parent's times
  copy_up("srv");
  prune();
  EXPECT_TRUE(fs::is_empty(upper()));
}

TEST_F(UnchangedDirsTest, ADirWithAChangeInsideStays) {
  copy_up("srv/data");
  copy_up("srv");
  std::ofstream(upper() / "srv/data/new") << "x";
  prune();
  EXPECT_TRUE(fs::exists(upper() / "srv/data/new"));
}

TEST_F(UnchangedDirsTest, ChangedMetadataNewDirsAndOpaqueDirsStay) {
  copy_up("etc");
  ASSERT_EQ(::chmod((upper() / "etc").c_str(), 0700), 0);
  fs::create_directories(upper() / "made-by-step");
  copy_up("srv");
  ASSERT_EQ(::lsetxattr((upper() / "srv").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  prune();
  EXPECT_TRUE(fs::exists(upper() / "etc"));
  EXPECT_TRUE(fs::exists(upper() / "made-by-step"));
  EXPECT_TRUE(fs::exists(upper() / "srv"));
}

}  // namespace
}  // namespace strata::engine::snapshot
