// Stops a build on SIGTERM/SIGINT or when its timeout passes, through one
// std::stop_source that every long operation watches (RUN containers get the
// token and the deadline; the solver checks between steps).
//
// The signals are blocked in the constructing thread and waited for by a
// watcher thread with sigtimedwait, so no code runs in a signal handler.
// Construct it before any other thread starts (threads inherit the mask);
// child processes must reset their mask (OciRuntimeExecutor does).
//
// Contract: one per process; the destructor stops the watcher and unblocks
// the signals. token(), deadline() and reason() are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "common/error.h"

namespace strata::engine::build {

class Cancellation {
 public:
  explicit Cancellation(std::chrono::seconds timeout);
  ~Cancellation();
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  std::stop_token token() const { return source_.get_token(); }
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  bool stopped() const { return source_.stop_requested(); }
  // Why the build stopped: "cancelled" (BUILD_CANCELLED) or "timeout after Ns"
  // (BUILD_TIMEOUT); nullopt while it runs.
  std::optional<Error> reason() const;

 private:
  void watch(std::stop_token shutdown);

  std::chrono::seconds timeout_;
  std::chrono::steady_clock::time_point deadline_;
  std::stop_source source_;
  std::atomic<int> reason_{0};  // 0 running, 1 cancelled, 2 timeout
  std::jthread watcher_;
};

}  // namespace strata::engine::build
