#include "auth/revocation.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace strata::auth {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;

class Revocation : public ::testing::Test {
 protected:
  strata::testing::TempDir dir;
  std::unique_ptr<RevocationList> list = RevocationList::open(dir.path()).value();
};

TEST_F(Revocation, RevokedIdIsRefusedAndOthersAreNot) {
  ASSERT_TRUE(list->revoke("jti-1", kNow + 60));
  EXPECT_TRUE(list->is_revoked("jti-1"));
  EXPECT_FALSE(list->is_revoked("jti-2"));
  EXPECT_FALSE(list->is_revoked(""));
}

TEST_F(Revocation, EmptyIdCannotBeRevoked) { EXPECT_FALSE(list->revoke("", kNow)); }

TEST_F(Revocation, PersistsAcrossReopen) {
  ASSERT_TRUE(list->revoke("jti-1", kNow + 60));
  list.reset();
  EXPECT_TRUE(RevocationList::open(dir.path()).value()->is_revoked("jti-1"));
}

TEST_F(Revocation, PurgeKeepsIdsUntilExpiryPlusLeeway) {
  ASSERT_TRUE(list->revoke("old", kNow - 120));
  ASSERT_TRUE(list->revoke("in-leeway", kNow - 30));
  ASSERT_TRUE(list->revoke("live", kNow + 600));
  EXPECT_EQ(list->purge_expired(kNow, 60), 1u);
  EXPECT_FALSE(list->is_revoked("old"));
  EXPECT_TRUE(list->is_revoked("in-leeway"));
  EXPECT_TRUE(list->is_revoked("live"));
  list.reset();
  EXPECT_FALSE(RevocationList::open(dir.path()).value()->is_revoked("old"));
}

}  // namespace
}  // namespace strata::auth
