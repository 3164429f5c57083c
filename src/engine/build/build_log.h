// The build log a builder writes on stderr, one line at a time, in BuildKit's
// plain-progress style so users and the build service read it the same way:
//
//   #3 [build 2/4] RUN make
//   #3 <a line of the container's output>
//   #3 DONE 1.2s
//   #4 CACHED [global]
//   #3 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2
//
// Contract: thread-safe (a mutex per line); each call writes whole lines and
// flushes, so a supervisor reading the pipe never sees a torn line. The log
// does not own the FILE.
#pragma once

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string_view>

namespace strata::engine::build {

class BuildLog {
 public:
  explicit BuildLog(std::FILE* out) : out_(out) {}

  // Announces a step and returns its number (#n), counted across the build.
  int start(std::string_view stage, std::size_t index, std::size_t total, std::string_view instruction);
  // A line the step produced (container output, pull progress).
  void line(int step, std::string_view text);
  // The number of the step started last (0 before the first).
  int current() const;
  void done(int step, std::chrono::steady_clock::duration took);
  // The step was not run: its result came from the build cache's `tier`.
  void cached(int step, std::string_view tier);
  void error(int step, std::string_view message);

 private:
  void write(int step, std::string_view text);

  std::FILE* out_;
  mutable std::mutex mutex_;
  int steps_ = 0;
};

}  // namespace strata::engine::build
