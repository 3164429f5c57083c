// The build log's clipping of RUN output: per step and per build, one marker
// line where a step's output stops, the builder's own lines always kept.
#include "engine/build/build_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace strata::engine::build {
namespace {

// A BuildLog writing to memory, read back as lines.
class CapturedLog {
 public:
  explicit CapturedLog(OutputLimits limits) : file_(::open_memstream(&buffer_, &size_)), log_(file_, limits) {}
  ~CapturedLog() {
    std::fclose(file_);
    std::free(buffer_);
  }
  BuildLog& log() { return log_; }
  std::vector<std::string> lines() {
    std::fflush(file_);
    std::vector<std::string> lines;
    std::string_view text(buffer_, size_);
    for (auto newline = text.find('\n'); newline != std::string_view::npos; newline = text.find('\n')) {
      lines.emplace_back(text.substr(0, newline));
      text.remove_prefix(newline + 1);
    }
    return lines;
  }

 private:
  char* buffer_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
  BuildLog log_;
};

TEST(BuildLogClipping, AStepKeepsWholeLinesUpToItsLimitThenOneMarker) {
  CapturedLog captured({.step_bytes = 10, .build_bytes = 0});
  int step = captured.log().start("build", 2, 3, "RUN yes");
  for (int i = 0; i < 100; ++i) captured.log().output(step, "abcd");  // 5 bytes a line with its newline
  captured.log().done(step, std::chrono::seconds(1));
  EXPECT_EQ(captured.lines(), (std::vector<std::string>{"#1 [build 2/3] RUN yes", "#1 abcd", "#1 abcd",
                                                        "#1 [output clipped: step log limit 10 bytes reached]",
                                                        "#1 DONE 1.0s"}));
}

TEST(BuildLogClipping, TheNextStepStartsWithItsOwnAllowance) {
  CapturedLog captured({.step_bytes = 2 << 20, .build_bytes = 0});
  std::string line(1000, 'x');
  int first = captured.log().start("build", 1, 2, "RUN a");
  for (int i = 0; i < 5000; ++i) captured.log().output(first, line);
  int second = captured.log().start("build", 2, 2, "RUN b");
  captured.log().output(second, "still here");
  auto lines = captured.lines();
  std::size_t kept = (2 << 20) / 1001;  // whole lines of 1000 bytes and a newline
  ASSERT_EQ(lines.size(), 1 + kept + 1 + 1 + 1);  // header, the lines kept, marker, next header, its line
  EXPECT_EQ(lines[kept + 1], "#1 [output clipped: step log limit 2 MiB reached]");
  EXPECT_EQ(lines.back(), "#2 still here");
}

TEST(BuildLogClipping, TheBuildLimitClipsEveryLaterStepWithItsOwnMarker) {
  CapturedLog captured({.step_bytes = 100, .build_bytes = 12});
  int first = captured.log().start("build", 1, 2, "RUN a");
  for (int i = 0; i < 3; ++i) captured.log().output(first, "12345");
  int second = captured.log().start("build", 2, 2, "RUN b");
  captured.log().output(second, "x");
  captured.log().output(second, "y");
  captured.log().error(second, "process failed");
  EXPECT_EQ(captured.lines(), (std::vector<std::string>{"#1 [build 1/2] RUN a", "#1 12345", "#1 12345",
                                                        "#1 [output clipped: build log limit 12 bytes reached]",
                                                        "#2 [build 2/2] RUN b",
                                                        "#2 [output clipped: build log limit 12 bytes reached]",
                                                        "#2 ERROR: process failed"}));
}

TEST(BuildLogClipping, TheBuildersOwnLinesAreNeverClipped) {
  CapturedLog captured({.step_bytes = 1, .build_bytes = 0});
  int step = captured.log().start("build", 1, 1, "RUN a");
  captured.log().output(step, "dropped");
  captured.log().line(step, "warning: kept");
  EXPECT_EQ(captured.lines(), (std::vector<std::string>{"#1 [build 1/1] RUN a",
                                                        "#1 [output clipped: step log limit 1 bytes reached]",
                                                        "#1 warning: kept"}));
}

TEST(BuildLogClipping, NoLimitsKeepEverything) {
  CapturedLog captured({});
  int step = captured.log().start("build", 1, 1, "RUN a");
  for (int i = 0; i < 1000; ++i) captured.log().output(step, std::string(1000, 'x'));
  EXPECT_EQ(captured.lines().size(), 1001u);
}

}  // namespace
}  // namespace strata::engine::build
