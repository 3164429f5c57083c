// USER and --chown specifications resolved against an image's own
// /etc/passwd and /etc/group, in every form Docker accepts.
#include "engine/fs/user.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace strata::engine::fs {
namespace {

namespace sfs = std::filesystem;
using strata::testing::TempDir;

constexpr std::string_view kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "broken line\n"
    "+nisuser::::::\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n"
    "web:x:33:33::/var/www:/usr/sbin/nologin\n"
    "app:x:2000:2000:duplicate, never chosen:/:/bin/sh\n";

constexpr std::string_view kGroup =
    "root:x:0:\n"
    "app:x:1000:\n"
    "www-data:x:33:\n"
    "docker:x:999:app,web\n"
    "audio:x:29: app \n"
    "staff:x:50:web\n";

class UserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write("etc/passwd", kPasswd);
    write("etc/group", kGroup);
  }
  void write(const std::string& rel, std::string_view content) {
    sfs::create_directories((rootfs_.path() / rel).parent_path());
    std::ofstream(rootfs_.path() / rel) << content;
  }
  Result<ResolvedUser> resolve(std::string_view spec) { return resolve_user(rootfs_.path(), spec); }

  TempDir rootfs_;
};

TEST_F(UserTest, NameGetsItsPrimaryGroupAndSupplementaryGroups) {
  auto user = resolve("app");
  ASSERT_TRUE(user) << user.error().message;
  EXPECT_EQ(user->owner.uid, 1000u);
  EXPECT_EQ(user->owner.gid, 1000u);
  EXPECT_EQ(user->additional_gids, (std::vector<std::uint32_t>{999, 29}));
}

TEST_F(UserTest, NumericUidFoundInPasswdBehavesLikeItsName) {
  auto user = resolve("33");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->owner.gid, 33u);
  EXPECT_EQ(user->additional_gids, (std::vector<std::uint32_t>{999, 50}));
}

TEST_F(UserTest, NumericUidWithoutEntryGetsGroupZero) {
  auto user = resolve("4242");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->owner.uid, 4242u);
  EXPECT_EQ(user->owner.gid, 0u);
  EXPECT_TRUE(user->additional_gids.empty());
}

TEST_F(UserTest, ExplicitGroupReplacesPrimaryAndDropsSupplementary) {
  struct Case {
    std::string_view spec;
    std::uint32_t uid, gid;
  };
  for (auto [spec, uid, gid] : {Case{"app:www-data", 1000, 33}, Case{"app:77", 1000, 77},
                                Case{"1000:1000", 1000, 1000}, Case{"5000:docker", 5000, 999},
                                Case{"5000:6000", 5000, 6000}}) {
    auto user = resolve(spec);
    ASSERT_TRUE(user) << spec << ": " << user.error().message;
    EXPECT_EQ(user->owner.uid, uid) << spec;
    EXPECT_EQ(user->owner.gid, gid) << spec;
    EXPECT_TRUE(user->additional_gids.empty()) << spec;
  }
}

TEST_F(UserTest, UnknownNamesFailWithDockersMessages) {
  auto user = resolve("nobody");
  ASSERT_FALSE(user);
  EXPECT_EQ(user.error().code, "USER_UNKNOWN");
  EXPECT_EQ(user.error().message, "unable to find user nobody: no matching entries in passwd file");
  auto group = resolve("app:nogroup");
  ASSERT_FALSE(group);
  EXPECT_EQ(group.error().code, "GROUP_UNKNOWN");
  EXPECT_EQ(group.error().message, "unable to find group nogroup: no matching entries in group file");
}

TEST_F(UserTest, ImageWithoutPasswdAcceptsOnlyNumbers) {
  TempDir scratch;
  auto numeric = resolve_user(scratch.path(), "1000:1000");
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric->owner.uid, 1000u);
  auto named = resolve_user(scratch.path(), "app");
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().code, "USER_UNKNOWN");
  auto group = resolve_user(scratch.path(), "0:wheel");
  ASSERT_FALSE(group);
  EXPECT_EQ(group.error().code, "GROUP_UNKNOWN");
}

TEST_F(UserTest, PasswdIsReadThroughSymlinksInsideTheRoot) {
  sfs::remove(rootfs_.path() / "etc/passwd");
  write("usr/share/passwd", "svc:x:321:654::/:/bin/sh\n");
  sfs::create_symlink("/usr/share/passwd", rootfs_.path() / "etc/passwd");
  auto user = resolve("svc");
  ASSERT_TRUE(user) << user.error().message;
  EXPECT_EQ(user->owner.uid, 321u);
  EXPECT_EQ(user->owner.gid, 654u);
}

TEST_F(UserTest, MalformedSpecificationsAreRejected) {
  for (auto spec : {"", ":1000", "app:", "a:b:c", "4294967296", "1000:2147483648"}) {
    auto user = resolve(spec);
    ASSERT_FALSE(user) << spec;
    EXPECT_EQ(user.error().code, "USER_INVALID") << spec;
  }
}

}  // namespace
}  // namespace strata::engine::fs
