#include "engine/build/build_log.h"

#include <fmt/format.h>

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

void BuildLog::done(int step, std::chrono::steady_clock::duration took) {
  write(step, fmt::format("DONE {:.1f}s", std::chrono::duration<double>(took).count()));
}

void BuildLog::cached(int step, std::string_view tier) { write(step, fmt::format("CACHED [{}]", tier)); }

void BuildLog::error(int step, std::string_view message) { write(step, fmt::format("ERROR: {}", message)); }

void BuildLog::write(int step, std::string_view text) {
  // A multi-line text (an instruction with continuations, an error with
  // output) stays one log line per physical line, each with its prefix.
  std::lock_guard lock(mutex_);
  while (true) {
    auto newline = text.find('\n');
    fmt::print(out_, "#{} {}\n", step, text.substr(0, newline));
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  std::fflush(out_);
}

}  // namespace strata::engine::build
