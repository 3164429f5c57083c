// Supervision of the builder child: its output lines reach the sink in
// order, its exit is reported, stop() ends the whole process group (SIGTERM,
// then SIGKILL after the grace), and the child runs with a clean environment.
// A shell script stands in for `strata builder`.
#include "builds/builder_process.h"

#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <sys/stat.h>
#include <vector>

#include "support/temp_dir.h"

namespace strata::builds {
namespace {

using namespace std::chrono_literals;

class BuilderProcessTest : public ::testing::Test {
 protected:
  BuilderCommand script(const std::string& body) {
    auto path = dir.path() / "builder.sh";
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
    return {path, dir.path() / "build.json", dir.path()};
  }

  LineSink collect() {
    return [this](std::string_view line) {
      std::lock_guard lock(mutex);
      lines.emplace_back(line);
    };
  }

  std::vector<std::string> collected() {
    std::lock_guard lock(mutex);
    return lines;
  }

  strata::testing::TempDir dir;
  std::mutex mutex;
  std::vector<std::string> lines;
};

TEST_F(BuilderProcessTest, OutputLinesReachTheSinkAndTheExitCodeIsReported) {
  auto process = BuilderProcess::start(script("echo one\necho two >&2\nprintf 'no newline'\nexit 3\n"), collect());
  ASSERT_TRUE(process) << process.error().message;
  auto exit = (*process)->wait_for(10s);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->code, 3);
  EXPECT_FALSE(exit->success());
  auto got = collected();
  EXPECT_EQ(got.size(), 3u);
  EXPECT_NE(std::find(got.begin(), got.end(), "one"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "two"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "no newline"), got.end());
}

TEST_F(BuilderProcessTest, ChildGetsTheBuilderArgumentsAndACleanEnvironment) {
  ::setenv("STRATA_SECRET_FOR_TEST", "leak", 1);
  auto process = BuilderProcess::start(script("echo \"$1 $2 $3\"\necho \"secret=${STRATA_SECRET_FOR_TEST:-none}\"\n"
                                               "echo \"home=$HOME\"\necho \"cwd=$(pwd)\"\n"),
                                       collect());
  ASSERT_TRUE(process);
  ASSERT_TRUE((*process)->wait_for(10s));
  ::unsetenv("STRATA_SECRET_FOR_TEST");
  auto got = collected();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], "builder --config " + (dir.path() / "build.json").string());
  EXPECT_EQ(got[1], "secret=none");
  EXPECT_EQ(got[2], "home=" + dir.path().string());
  EXPECT_EQ(got[3], "cwd=" + dir.path().string());
}

TEST_F(BuilderProcessTest, WaitForReturnsNothingWhileTheChildRuns) {
  auto process = BuilderProcess::start(script("sleep 30\n"), collect());
  ASSERT_TRUE(process);
  EXPECT_FALSE((*process)->wait_for(50ms));
  (*process)->stop(5s);
  auto exit = (*process)->wait_for(10s);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->signal, SIGTERM);
}

TEST_F(BuilderProcessTest, StopEscalatesToSigkillForAChildIgnoringSigterm) {
  auto process = BuilderProcess::start(script("trap '' TERM\necho ready\nwhile :; do sleep 1; done\n"), collect());
  ASSERT_TRUE(process);
  for (int i = 0; i < 200 && collected().empty(); ++i) std::this_thread::sleep_for(10ms);
  auto started = std::chrono::steady_clock::now();
  (*process)->stop(300ms);
  auto exit = (*process)->wait_for(10s);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(BuilderProcessTest, StopReachesTheWholeProcessGroup) {
  auto pid_file = dir.path() / "grandchild.pid";
  auto process = BuilderProcess::start(
      script("sleep 30 &\necho $! > " + pid_file.string() + "\necho started\nwait\n"), collect());
  ASSERT_TRUE(process);
  for (int i = 0; i < 200 && collected().empty(); ++i) std::this_thread::sleep_for(10ms);
  pid_t grandchild = 0;
  std::ifstream(pid_file) >> grandchild;
  ASSERT_GT(grandchild, 0);
  (*process)->stop(2s);
  ASSERT_TRUE((*process)->wait_for(10s));
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = ::kill(grandchild, 0) != 0;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "the builder's own child survived stop()";
}

TEST_F(BuilderProcessTest, MissingExecutableExitsWith127) {
  BuilderCommand command{dir.path() / "no-such-builder", dir.path() / "build.json", dir.path()};
  auto process = BuilderProcess::start(command, collect());
  ASSERT_TRUE(process);
  auto exit = (*process)->wait_for(10s);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->code, 127);
}

}  // namespace
}  // namespace strata::builds
