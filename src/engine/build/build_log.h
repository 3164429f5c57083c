// The build log a builder writes on stderr, one line at a time, in BuildKit's
// plain-progress style so users and the build service read it the same way:
//
//   #3 [build 2/4] RUN make
//   #3 <a line of the container's output>
//   #3 DONE 1.2s
//   #4 CACHED [global]
//   #3 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2
//
// A RUN step's output is clipped, as BuildKit clips it: the log keeps at most
// OutputLimits::step_bytes of each step's output and build_bytes of the
// whole build's (a line is kept whole or not at all), then writes one marker
// line for the step, "[output clipped: step log limit 2 MiB reached]" (or
// "build log limit"), and drops the rest of that step's output. The step's
// own lines (its header, DONE, ERROR, warnings) are always written.
//
// Contract: thread-safe (a mutex per line); each call writes whole lines and
// flushes, so a supervisor reading the pipe never sees a torn line. The log
// does not own the FILE.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string_view>

namespace strata::engine::build {

// Bytes of output kept (each line counts its '\n'); 0: no limit.
struct OutputLimits {
  std::int64_t step_bytes = 0;
  std::int64_t build_bytes = 0;
};

class BuildLog {
 public:
  explicit BuildLog(std::FILE* out, OutputLimits limits = {}) : out_(out), limits_(limits) {}

  // Announces a step and returns its number (#n), counted across the build.
  int start(std::string_view stage, std::size_t index, std::size_t total, std::string_view instruction);
  // A line of a RUN step's output: kept within the limits, or dropped.
  void output(int step, std::string_view text);
  // A line the builder writes for a step (pull progress, a warning): kept.
  void line(int step, std::string_view text);
  // The number of the step started last (0 before the first).
  int current() const;
  void done(int step, std::chrono::steady_clock::duration took);
  // The step was not run: its result came from the build cache's `tier`.
  void cached(int step, std::string_view tier);
  void error(int step, std::string_view message);

 private:
  void write(int step, std::string_view text);

  void write_locked(int step, std::string_view text);

  std::FILE* out_;
  const OutputLimits limits_;
  mutable std::mutex mutex_;
  int steps_ = 0;
  std::int64_t build_output_ = 0;            // output bytes kept, all steps
  std::map<int, std::int64_t> step_output_;  // output bytes kept per step; -1 once clipped
};

}  // namespace strata::engine::build
