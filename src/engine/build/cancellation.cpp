#include "engine/build/cancellation.h"

#include <pthread.h>
#include <signal.h>

#include <fmt/format.h>

namespace strata::engine::build {
namespace {

constexpr int kRunning = 0, kCancelled = 1, kTimedOut = 2;

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

Cancellation::Cancellation(std::chrono::seconds timeout)
    : timeout_(timeout), deadline_(std::chrono::steady_clock::now() + timeout) {
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  watcher_ = std::jthread([this](std::stop_token shutdown) { watch(shutdown); });
}

Cancellation::~Cancellation() {
  watcher_.request_stop();
  // Wakes the watcher now rather than at its next timeout: a SIGTERM sent
  // to that thread alone (blocked everywhere, so only its sigtimedwait
  // takes it, and it knows a stop was asked for).
  pthread_kill(watcher_.native_handle(), SIGTERM);
  watcher_.join();
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void Cancellation::watch(std::stop_token shutdown) {
  sigset_t set = stop_signals();
  // Bounded waits so the deadline is seen; the destructor wakes it at once.
  while (!shutdown.stop_requested() && !source_.stop_requested()) {
    auto left = deadline_ - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      reason_ = kTimedOut;
      source_.request_stop();
      return;
    }
    auto wait = std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(200));
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    if (sigtimedwait(&set, nullptr, &ts) > 0) {
      if (shutdown.stop_requested()) return;  // the destructor's wake-up
      reason_ = kCancelled;
      source_.request_stop();
      return;
    }
  }
}

std::optional<Error> Cancellation::reason() const {
  switch (reason_.load()) {
    case kCancelled: return Error{"BUILD_CANCELLED", "cancelled", {}};
    case kTimedOut: return Error{"BUILD_TIMEOUT", fmt::format("timeout after {}s", timeout_.count()), {}};
  }
  return std::nullopt;
}

}  // namespace strata::engine::build
