// How `strata build` shows a build while it follows the build's events.
//
// On a terminal: the log lines scroll by and one status line stays at the
// bottom, redrawn several times a second: status, elapsed time, the step
// running now as the builder numbers it (`step i/N` of its stage, from
// `#n [stage i/N] INSTRUCTION` lines) and how many steps were CACHED so far.
// Elsewhere (pipes, CI logs): plain lines only, the log as it comes and one
// line per status change, nothing redrawn.
//
// Contract: every method may be called from the thread following the events;
// the terminal display redraws from its own thread, stopped by finish() or
// the destructor. Output goes to the FILE* given (stderr for `strata build`).
#pragma once

#include <cstdio>
#include <memory>
#include <string_view>

namespace strata::cli {

class BuildProgress {
 public:
  // A live display when `out` is a terminal, plain lines otherwise.
  static std::unique_ptr<BuildProgress> for_stream(std::FILE* out);
  virtual ~BuildProgress() = default;

  virtual void log_line(std::string_view line) = 0;
  virtual void status(std::string_view status) = 0;
  // Leaves the terminal with the last status line drawn and no thread running.
  virtual void finish() = 0;
};

}  // namespace strata::cli
