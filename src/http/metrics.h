// Request metrics in Prometheus text exposition format: counts and latency
// histograms by route, method and status, and bytes in/out. Thread-safe;
// record() is called once per request by the server.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace strata::http {

class Metrics {
 public:
  void record(std::string_view route, std::string_view method, int status, double seconds,
              std::uint64_t bytes_in, std::uint64_t bytes_out);
  // Counter with labels in Prometheus syntax, e.g. inc("strata_auth_denied_total", "reason=\"scope\"").
  void inc(std::string_view name, std::string_view labels = {});
  std::string render() const;

 private:
  struct Series {
    std::uint64_t count = 0;
    double seconds_sum = 0;
    std::uint64_t buckets[12] = {};
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, Series> requests_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> counters_;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
};

}  // namespace strata::http
