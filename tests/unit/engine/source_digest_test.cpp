// Content digests of COPY sources: content, names, modes and symlink targets
// change the digest; modification times and .dockerignore'd files do not.
#include "engine/cache/source_digest.h"

#include <sys/stat.h>
#include <utime.h>

#include <fstream>

#include <gtest/gtest.h>

#include "engine/dockerfile/dockerignore.h"
#include "support/temp_dir.h"

namespace strata::engine::cache {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

class SourceDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write(dir_.path() / "src/a.txt", "alpha");
    write(dir_.path() / "src/b.txt", "bravo");
    write(dir_.path() / "README", "readme");
  }

  oci::Digest digest(std::string_view pattern, const dockerfile::IgnoreRules* ignore = nullptr) {
    auto result = source_digest(dir_.path(), pattern, true, ignore);
    EXPECT_TRUE(result) << result.error().message;
    return result.value_or(oci::Digest::of(oci::DigestAlgorithm::sha256, ""));
  }

  strata::testing::TempDir dir_;
};

TEST_F(SourceDigestTest, ContentNamesAndModesChangeTheDigest) {
  auto before = digest("src");
  EXPECT_EQ(digest("src"), before);
  write(dir_.path() / "src/a.txt", "ALPHA");
  auto content = digest("src");
  EXPECT_NE(content, before);
  ::chmod((dir_.path() / "src/a.txt").c_str(), 0700);
  auto mode = digest("src");
  EXPECT_NE(mode, content);
  fs::rename(dir_.path() / "src/a.txt", dir_.path() / "src/c.txt");
  EXPECT_NE(digest("src"), mode);
  fs::create_symlink("b.txt", dir_.path() / "src/link");
  auto link = digest("src");
  fs::remove(dir_.path() / "src/link");
  fs::create_symlink("c.txt", dir_.path() / "src/link");
  EXPECT_NE(digest("src"), link);
}

TEST_F(SourceDigestTest, ModificationTimesDoNotChangeTheDigest) {
  auto before = digest("src");
  struct utimbuf times{1000, 1000};
  ::utime((dir_.path() / "src/a.txt").c_str(), &times);
  EXPECT_EQ(digest("src"), before);
}

TEST_F(SourceDigestTest, IgnoredFilesDoNotCount) {
  auto rules = dockerfile::IgnoreRules::parse("src/b.txt\n");
  ASSERT_TRUE(rules);
  auto before = digest(".", &*rules);
  write(dir_.path() / "src/b.txt", "changed");
  EXPECT_EQ(digest(".", &*rules), before);
  write(dir_.path() / "src/a.txt", "changed");
  EXPECT_NE(digest(".", &*rules), before);
}

TEST_F(SourceDigestTest, PatternsSelectWhatTheCopySelects) {
  auto txt = digest("src/*.txt");
  write(dir_.path() / "README", "other readme");
  EXPECT_EQ(digest("src/*.txt"), txt);
  EXPECT_NE(digest("src/a.txt"), digest("src/b.txt"));
  auto missing = source_digest(dir_.path(), "nothing-here", true, nullptr);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "COPY_SOURCE_MISSING");
}

}  // namespace
}  // namespace strata::engine::cache
