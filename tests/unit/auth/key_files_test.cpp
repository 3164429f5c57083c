#include "auth/key_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "auth/jwt.h"
#include "auth/private_file.h"
#include "support/temp_dir.h"

namespace strata::auth {
namespace {

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

class KeyFiles : public ::testing::Test {
 protected:
  strata::testing::TempDir dir;
};

TEST_F(KeyFiles, Hs256SecretIsCreatedWithMode0600AndReloadedUnchanged) {
  auto file = dir.path() / "hs256.secret";
  auto first = load_or_create_hs256_key(file);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(mode_of(file), 0600u);
  auto second = load_or_create_hs256_key(file);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->kid(), second->kid());
  EXPECT_EQ(*first->sign("x"), *second->sign("x"));
}

TEST_F(KeyFiles, Es256KeyIsCreatedWithMode0600AndReloadedUnchanged) {
  auto file = dir.path() / "es256.pem";
  auto first = load_or_create_es256_key(file);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(mode_of(file), 0600u);
  auto second = load_or_create_es256_key(file);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->kid(), second->kid());
  EXPECT_EQ(*first->public_pem(), *second->public_pem());
  KeySet keys;
  ASSERT_TRUE(keys.add(*second));
  auto token = sign_jwt(*first, R"({"iss":"i","aud":"a","exp":100})");
  EXPECT_TRUE(verify_jwt(*token, keys, {"i", "a", 50}));
}

TEST_F(KeyFiles, RefusesKeyFilesOthersCanRead) {
  auto file = dir.path() / "hs256.secret";
  ASSERT_TRUE(load_or_create_hs256_key(file));
  ::chmod(file.c_str(), 0644);
  EXPECT_EQ(load_or_create_hs256_key(file).error().code, "IO");
}

TEST_F(KeyFiles, RefusesFilesThatHoldNoKey) {
  ASSERT_TRUE(write_private_file(dir.path() / "es.pem", "not a key", IfExists::keep));
  EXPECT_EQ(load_or_create_es256_key(dir.path() / "es.pem").error().code, "KEY_INVALID");
  ASSERT_TRUE(write_private_file(dir.path() / "hs", "$$$", IfExists::keep));
  EXPECT_EQ(load_or_create_hs256_key(dir.path() / "hs").error().code, "KEY_INVALID");
}

TEST_F(KeyFiles, KeepNeverOverwritesAnExistingFile) {
  auto file = dir.path() / "f";
  EXPECT_TRUE(*write_private_file(file, "one", IfExists::keep));
  EXPECT_FALSE(*write_private_file(file, "two", IfExists::keep));
  EXPECT_EQ(*read_private_file(file), "one");
  EXPECT_TRUE(*write_private_file(file, "three", IfExists::replace));
  EXPECT_EQ(*read_private_file(file), "three");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

}  // namespace
}  // namespace strata::auth
