// Prometheus text rendering of request metrics.
#include "http/metrics.h"

#include <fmt/format.h>

namespace strata::http {
namespace {
constexpr double kBounds[12] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                0.05,   0.1,   0.25,   1,     5,    30};
}

void Metrics::record(std::string_view route, std::string_view method, int status, double seconds,
                     std::uint64_t bytes_in, std::uint64_t bytes_out) {
  std::lock_guard lock(mu_);
  auto& s = requests_[{std::string(route), std::string(method), status}];
  ++s.count;
  s.seconds_sum += seconds;
  for (int i = 0; i < 12; ++i)
    if (seconds <= kBounds[i]) ++s.buckets[i];
  bytes_in_ += bytes_in;
  bytes_out_ += bytes_out;
}

void Metrics::inc(std::string_view name, std::string_view labels) {
  std::lock_guard lock(mu_);
  ++counters_[{std::string(name), std::string(labels)}];
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP strata_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE strata_http_requests_total counter\n";
  for (const auto& [key, s] : requests_) {
    const auto& [route, method, status] = key;
    out += fmt::format("strata_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                       route, method, status, s.count);
  }
  out += "# HELP strata_http_request_duration_seconds HTTP request latency.\n";
  out += "# TYPE strata_http_request_duration_seconds histogram\n";
  for (const auto& [key, s] : requests_) {
    const auto& [route, method, status] = key;
    auto labels = fmt::format("route=\"{}\",method=\"{}\",status=\"{}\"", route, method, status);
    for (int i = 0; i < 12; ++i)
      out += fmt::format("strata_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                         kBounds[i], s.buckets[i]);
    out += fmt::format("strata_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, s.count);
    out += fmt::format("strata_http_request_duration_seconds_sum{{{}}} {}\n", labels, s.seconds_sum);
    out += fmt::format("strata_http_request_duration_seconds_count{{{}}} {}\n", labels, s.count);
  }
  out += "# HELP strata_http_received_bytes_total Request body bytes received.\n";
  out += "# TYPE strata_http_received_bytes_total counter\n";
  out += fmt::format("strata_http_received_bytes_total {}\n", bytes_in_);
  out += "# HELP strata_http_sent_bytes_total Response body bytes sent.\n";
  out += "# TYPE strata_http_sent_bytes_total counter\n";
  out += fmt::format("strata_http_sent_bytes_total {}\n", bytes_out_);
  std::string last;
  for (const auto& [key, value] : counters_) {
    if (key.first != last) {
      out += fmt::format("# TYPE {} counter\n", key.first);
      last = key.first;
    }
    if (key.second.empty())
      out += fmt::format("{} {}\n", key.first, value);
    else
      out += fmt::format("{}{{{}}} {}\n", key.first, key.second, value);
  }
  return out;
}

}  // namespace strata::http
