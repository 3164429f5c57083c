#include "sandbox/runtime_binary.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace strata::sandbox {
namespace {

namespace fs = std::filesystem;
using strata::testing::TempDir;

// PATH set to `value` for the test's lifetime.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& value) {
    if (const char* old = ::getenv("PATH")) old_ = old;
    ::setenv("PATH", value.c_str(), 1);
  }
  ~ScopedPath() { ::setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

void write_file(const fs::path& path, mode_t mode) {
  std::ofstream(path) << "#!/bin/sh\n";
  ::chmod(path.c_str(), mode);
}

TEST(RuntimeBinaryTest, TheRuntimesNameIsLookedUpInPathInOrder) {
  TempDir temp;
  fs::create_directories(temp.path() / "a");
  fs::create_directories(temp.path() / "b");
  write_file(temp.path() / "a/runsc", 0644);  // not executable: passed over
  write_file(temp.path() / "b/runsc", 0755);
  ScopedPath path((temp.path() / "a").string() + ":" + (temp.path() / "b").string());
  auto found = find_runtime_binary(RuntimeKind::runsc, "");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(*found, temp.path() / "b/runsc");
}

TEST(RuntimeBinaryTest, AMissingRuntimeSaysWhatToInstallOrSet) {
  TempDir temp;
  ScopedPath path(temp.path().string());
  auto found = find_runtime_binary(RuntimeKind::crun, "");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, "RUNTIME_NOT_FOUND");
  EXPECT_EQ(found.error().message,
            "OCI runtime crun not found in PATH: install it (Debian package crun) or give its path with --runtime-path");
}

TEST(RuntimeBinaryTest, AGivenPathIsUsedAsIsAndMustBeAnExecutableFile) {
  TempDir temp;
  write_file(temp.path() / "my-runc", 0755);
  write_file(temp.path() / "plain", 0644);
  ScopedPath path("");
  auto found = find_runtime_binary(RuntimeKind::runc, (temp.path() / "my-runc").string());
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(*found, temp.path() / "my-runc");

  for (const fs::path& bad : {temp.path() / "plain", temp.path(), temp.path() / "absent"}) {
    auto refused = find_runtime_binary(RuntimeKind::runc, bad.string());
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, "RUNTIME_NOT_FOUND");
    EXPECT_EQ(refused.error().message,
              "OCI runtime runc: " + bad.string() + " is not an executable file (check --runtime-path)");
  }
}

}  // namespace
}  // namespace strata::sandbox
