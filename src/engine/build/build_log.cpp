#include "engine/build/build_log.h"

#include <fmt/format.h>

#include "sandbox/sandbox_policy.h"

namespace strata::engine::build {

int BuildLog::start(std::string_view stage, std::size_t index, std::size_t total, std::string_view instruction) {
  int step;
  {
    std::lock_guard lock(mutex_);
    step = ++steps_;
  }
  write(step, fmt::format("[{} {}/{}] {}", stage, index, total, instruction));
  return step;
}

int BuildLog::current() const {
  std::lock_guard lock(mutex_);
  return steps_;
}

void BuildLog::line(int step, std::string_view text) { write(step, text); }

void BuildLog::output(int step, std::string_view text) {
  std::lock_guard lock(mutex_);
  std::int64_t& kept = step_output_[step];
  if (kept < 0) return;  // clipped: the step keeps running, its output is drained and dropped
  auto size = static_cast<std::int64_t>(text.size()) + 1;
  bool step_full = limits_.step_bytes > 0 && kept + size > limits_.step_bytes;
  bool build_full = limits_.build_bytes > 0 && build_output_ + size > limits_.build_bytes;
  if (!step_full && !build_full) {
    kept += size;
    build_output_ += size;
    write_locked(step, text);
    return;
  }
  kept = -1;
  write_locked(step, build_full ? fmt::format("[output clipped: build log limit {} reached]",
                                              sandbox::format_byte_size(limits_.build_bytes))
                                : fmt::format("[output clipped: step log limit {} reached]",
                                              sandbox::format_byte_size(limits_.step_bytes)));
}

void BuildLog::done(int step, std::chrono::steady_clock::duration took) {
  write(step, fmt::format("DONE {:.1f}s", std::chrono::duration<double>(took).count()));
}

void BuildLog::cached(int step, std::string_view tier) { write(step, fmt::format("CACHED [{}]", tier)); }

void BuildLog::error(int step, std::string_view message) { write(step, fmt::format("ERROR: {}", message)); }

void BuildLog::write(int step, std::string_view text) {
  std::lock_guard lock(mutex_);
  write_locked(step, text);
}

void BuildLog::write_locked(int step, std::string_view text) {
  // A multi-line text (an instruction with continuations, an error with
  // output) stays one log line per physical line, each with its prefix.
  while (true) {
    auto newline = text.find('\n');
    fmt::print(out_, "#{} {}\n", step, text.substr(0, newline));
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  std::fflush(out_);
}

}  // namespace strata::engine::build
