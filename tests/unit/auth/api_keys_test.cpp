#include "auth/api_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/temp_dir.h"

namespace strata::auth {
namespace {

class ApiKeys : public ::testing::Test {
 protected:
  strata::testing::TempDir dir;
  std::unique_ptr<ApiKeyStore> store = ApiKeyStore::open(dir.path()).value();
};

TEST_F(ApiKeys, CreatedKeyAuthenticatesAsItsTenant) {
  auto key = store->create(Role::tenant, "acme");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(key->secret.starts_with("sk_"));
  EXPECT_EQ(key->secret.size(), 46u);
  auto principal = store->authenticate(key->secret);
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->role, Role::tenant);
  EXPECT_EQ(principal->tenant, "acme");
  EXPECT_EQ(principal->key_id, key->info.id);
}

TEST_F(ApiKeys, OperatorKeyAuthenticatesAsOperator) {
  auto key = store->create(Role::operator_, "");
  ASSERT_TRUE(key);
  EXPECT_TRUE(store->authenticate(key->secret)->is_operator());
}

TEST_F(ApiKeys, RejectsBadTenantBinding) {
  EXPECT_EQ(store->create(Role::tenant, "global").error().code, "TENANT_INVALID");
  EXPECT_EQ(store->create(Role::tenant, "").error().code, "TENANT_INVALID");
  EXPECT_EQ(store->create(Role::operator_, "acme").error().code, "TENANT_INVALID");
}

TEST_F(ApiKeys, WrongOrMalformedKeysAreUnauthorized) {
  auto key = store->create(Role::tenant, "acme").value();
  std::string wrong = key.secret;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad : {wrong, std::string("sk_short"), std::string(""), "pk_" + key.secret.substr(3),
                                 key.secret + "x", key.secret.substr(0, 45) + "="})
    EXPECT_EQ(store->authenticate(bad).error().code, "UNAUTHORIZED") << bad;
}

TEST_F(ApiKeys, StoresOnlyAHashOfTheKey) {
  auto key = store->create(Role::tenant, "acme").value();
  std::ifstream db(dir.path() / "auth.db", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(db)), {});
  std::ifstream wal(dir.path() / "auth.db-wal", std::ios::binary);
  bytes.append((std::istreambuf_iterator<char>(wal)), {});
  EXPECT_EQ(bytes.find(key.secret.substr(3)), std::string::npos);
}

TEST_F(ApiKeys, ListShowsIdsAndRolesButNoSecrets) {
  auto a = store->create(Role::tenant, "acme").value();
  auto b = store->create(Role::operator_, "").value();
  auto keys = store->list();
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 2u);
  std::set<std::string> ids = {(*keys)[0].id, (*keys)[1].id};
  EXPECT_EQ(ids, (std::set<std::string>{a.info.id, b.info.id}));
  EXPECT_EQ(a.info.id, a.secret.substr(3, 8));
}

TEST_F(ApiKeys, RevokedKeyNoLongerAuthenticates) {
  auto key = store->create(Role::tenant, "acme").value();
  ASSERT_TRUE(store->revoke(key.info.id));
  EXPECT_EQ(store->authenticate(key.secret).error().code, "UNAUTHORIZED");
  EXPECT_TRUE(store->list()->front().revoked_at.has_value());
  EXPECT_EQ(store->revoke(key.info.id).error().code, "KEY_UNKNOWN");
  EXPECT_EQ(store->revoke("nope").error().code, "KEY_UNKNOWN");
}

TEST_F(ApiKeys, KeysSurviveReopening) {
  auto key = store->create(Role::tenant, "acme").value();
  store.reset();
  auto reopened = ApiKeyStore::open(dir.path()).value();
  EXPECT_EQ(reopened->authenticate(key.secret)->tenant, "acme");
}

TEST_F(ApiKeys, BootstrapWritesAnOperatorKeyFileWithMode0600OnFirstStartOnly) {
  auto path = store->ensure_bootstrap_operator();
  ASSERT_TRUE(path) << path.error().message;
  ASSERT_TRUE(path->has_value());
  EXPECT_EQ(**path, dir.path() / "operator.key");
  struct stat st {};
  ASSERT_EQ(::stat((*path)->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::ifstream file(**path);
  std::string secret;
  std::getline(file, secret);
  EXPECT_TRUE(store->authenticate(secret)->is_operator());

  std::filesystem::remove(**path);
  auto again = ApiKeyStore::open(dir.path()).value()->ensure_bootstrap_operator();
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "operator.key"));
}

}  // namespace
}  // namespace strata::auth
