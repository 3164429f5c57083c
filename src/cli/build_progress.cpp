// Build progress display; see build_progress.h.
#include "cli/build_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace strata::cli {
namespace {

// A builder step header: `#<n> [<stage> <i>/<total>] <instruction>`.
struct StepHeader {
  std::string stage;
  std::string position;  // "i/total"
  std::string instruction;
};

// After "#<digits> ": what follows the step number, or nullopt.
std::optional<std::string_view> after_step_number(std::string_view line) {
  if (line.size() < 3 || line[0] != '#') return std::nullopt;
  std::size_t i = 1;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
  if (i == 1 || i >= line.size() || line[i] != ' ') return std::nullopt;
  return line.substr(i + 1);
}

std::optional<StepHeader> parse_step_header(std::string_view line) {
  auto rest = after_step_number(line);
  if (!rest || rest->empty() || rest->front() != '[') return std::nullopt;
  auto close = rest->find("] ");
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view inside = rest->substr(1, close - 1);
  auto space = inside.rfind(' ');
  if (space == std::string_view::npos || inside.find('/', space) == std::string_view::npos) return std::nullopt;
  return StepHeader{std::string(inside.substr(0, space)), std::string(inside.substr(space + 1)),
                    std::string(rest->substr(close + 2))};
}

// "#n CACHED [tenant]" / "#n CACHED [global]" (a bare "CACHED" as BuildKit prints it too).
bool is_cached_marker(std::string_view line) {
  auto rest = after_step_number(line);
  return rest && (*rest == "CACHED" || rest->starts_with("CACHED ["));
}

class PlainProgress final : public BuildProgress {
 public:
  explicit PlainProgress(std::FILE* out) : out_(out) {}

  void log_line(std::string_view line) override {
    std::fprintf(out_, "%.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(out_);
  }
  void status(std::string_view status) override {
    std::fprintf(out_, "status: %.*s\n", static_cast<int>(status.size()), status.data());
    std::fflush(out_);
  }
  void finish() override {}

 private:
  std::FILE* out_;
};

class TerminalProgress final : public BuildProgress {
 public:
  explicit TerminalProgress(std::FILE* out)
      : out_(out), started_(std::chrono::steady_clock::now()), ticker_([this] { tick(); }) {}
  ~TerminalProgress() override { finish(); }

  void log_line(std::string_view line) override {
    std::lock_guard lock(mutex_);
    if (auto step = parse_step_header(line)) {
      step_ = std::move(*step);
    } else if (is_cached_marker(line)) {
      ++cached_;
    }
    std::fprintf(out_, "\r\033[K%.*s\n", static_cast<int>(line.size()), line.data());
    draw();
  }

  void status(std::string_view status) override {
    std::lock_guard lock(mutex_);
    status_ = std::string(status);
    draw();
  }

  void finish() override {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
      draw();
      std::fprintf(out_, "\n");
      std::fflush(out_);
    }
    wake_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }

 private:
  void tick() {
    std::unique_lock lock(mutex_);
    while (!stopped_) {
      draw();
      wake_.wait_for(lock, std::chrono::milliseconds(250));
    }
  }

  // Caller holds mutex_.
  void draw() {
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    std::string line = fmt::format("[+] {} {:.1f}s", status_, elapsed);
    if (step_) line += fmt::format("  step {} [{}] {}", step_->position, step_->stage, step_->instruction);
    if (cached_ > 0) line += fmt::format("  ({} CACHED)", cached_);
    // A status line wider than the terminal would wrap and never be erased.
    struct winsize size {};
    if (::ioctl(::fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 1 && line.size() >= size.ws_col)
      line.resize(size.ws_col - 1);
    std::fprintf(out_, "\r\033[K%s", line.c_str());
    std::fflush(out_);
  }

  std::FILE* out_;
  std::chrono::steady_clock::time_point started_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string status_ = "queued";
  std::optional<StepHeader> step_;
  int cached_ = 0;
  bool stopped_ = false;
  std::thread ticker_;  // last: starts once everything it reads exists
};

}  // namespace

std::unique_ptr<BuildProgress> BuildProgress::for_stream(std::FILE* out) {
  if (::isatty(::fileno(out))) return std::make_unique<TerminalProgress>(out);
  return std::make_unique<PlainProgress>(out);
}

}  // namespace strata::cli
