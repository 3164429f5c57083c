// The Build model: what was asked (BuildRequest), who asked (tenant,
// principal), where it is in its life (BuildStatus, timestamps, attempt) and
// what came out (BuildResult with the per-step cache report). BuildStore
// persists it, the API renders it, the manager drives it.
//
// Status flow: queued -> building -> pushing -> ready; failed or cancelled
// from any non-final state. is_allowed_transition() is the one place that
// says so. Value types; pure functions; thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/digest.h"

namespace strata::builds {

// Millisecond precision so a timestamp survives a round trip through storage.
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

inline Timestamp now_timestamp() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// ---- status -----------------------------------------------------------------

enum class BuildStatus { queued, building, pushing, ready, failed, cancelled };

inline constexpr std::array<BuildStatus, 6> kAllBuildStatuses = {
    BuildStatus::queued, BuildStatus::building, BuildStatus::pushing,
    BuildStatus::ready,  BuildStatus::failed,   BuildStatus::cancelled};

// "queued", "building", ... as the API and the event log spell them.
constexpr std::string_view status_name(BuildStatus status) {
  switch (status) {
    case BuildStatus::queued: return "queued";
    case BuildStatus::building: return "building";
    case BuildStatus::pushing: return "pushing";
    case BuildStatus::ready: return "ready";
    case BuildStatus::failed: return "failed";
    case BuildStatus::cancelled: return "cancelled";
  }
  return "unknown";
}

constexpr std::optional<BuildStatus> parse_build_status(std::string_view name) {
  for (BuildStatus status : kAllBuildStatuses)
    if (status_name(status) == name) return status;
  return std::nullopt;
}

// A final build never changes status again.
constexpr bool is_final(BuildStatus status) {
  return status == BuildStatus::ready || status == BuildStatus::failed ||
         status == BuildStatus::cancelled;
}

constexpr bool is_allowed_transition(BuildStatus from, BuildStatus to) {
  if (is_final(from)) return false;
  if (to == BuildStatus::failed || to == BuildStatus::cancelled) return true;
  return (from == BuildStatus::queued && to == BuildStatus::building) ||
         (from == BuildStatus::building && to == BuildStatus::pushing) ||
         (from == BuildStatus::pushing && to == BuildStatus::ready);
}

// ---- identity -----------------------------------------------------------------

// Build ids are "b" followed by 20 characters of lowercase base32 (RFC 4648
// alphabet, 100 random bits): URL-safe, path-safe, and usable as a repository
// path segment (`builds/{id}`).
inline constexpr std::size_t kBuildIdLength = 21;

constexpr bool is_valid_build_id(std::string_view id) {
  if (id.size() != kBuildIdLength || id.front() != 'b') return false;
  for (char c : id.substr(1))
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  return true;
}

// ---- request ------------------------------------------------------------------

enum class NetworkMode { isolated, egress };

constexpr std::string_view network_mode_name(NetworkMode mode) {
  return mode == NetworkMode::egress ? "egress" : "isolated";
}

constexpr std::optional<NetworkMode> parse_network_mode(std::string_view name) {
  if (name == "isolated") return NetworkMode::isolated;
  if (name == "egress") return NetworkMode::egress;
  return std::nullopt;
}

// A secret from the server's secret store, by id; with env_var it is also
// exposed to RUN steps as that variable.
struct SecretRequest {
  std::string id{};
  std::string env_var{};  // empty: file only
  friend bool operator==(const SecretRequest&, const SecretRequest&) = default;
};

// What the caller asked for, already validated and authorised by the API.
// Every build has a stored source archive, hence a source digest.
struct BuildRequest {
  oci::Digest source_digest;                       // the stored context archive
  std::uint64_t source_size = 0;                   // its size in bytes
  std::optional<oci::Digest> dockerfile_digest{};  // of the Dockerfile text used, when known
  std::string dockerfile_path{};                   // in the context; empty: "Dockerfile"
  std::string cache_scope{};                       // tenant cache namespace (cache/{scope})
  std::string global_cache_key{};                  // empty: no global cache
  bool is_admin_build = false;                     // operator build writing cache/global/{key}
  std::map<std::string, std::string> build_args{};
  std::string target{};                            // empty: the last stage
  std::vector<SecretRequest> secrets{};
  std::chrono::seconds timeout{3600};
  NetworkMode network_mode = NetworkMode::isolated;
  friend bool operator==(const BuildRequest&, const BuildRequest&) = default;
};

// ---- result -------------------------------------------------------------------

enum class CacheOutcome { hit_tenant, hit_global, miss };

constexpr std::string_view cache_outcome_name(CacheOutcome outcome) {
  switch (outcome) {
    case CacheOutcome::hit_tenant: return "hit-tenant";
    case CacheOutcome::hit_global: return "hit-global";
    case CacheOutcome::miss: return "miss";
  }
  return "miss";
}

constexpr std::optional<CacheOutcome> parse_cache_outcome(std::string_view name) {
  for (CacheOutcome outcome : {CacheOutcome::hit_tenant, CacheOutcome::hit_global, CacheOutcome::miss})
    if (cache_outcome_name(outcome) == name) return outcome;
  return std::nullopt;
}

// One Dockerfile step as the cache saw it.
struct StepCacheReport {
  std::string instruction{};  // as written, e.g. "RUN npm ci"
  CacheOutcome outcome = CacheOutcome::miss;
  std::chrono::milliseconds duration{0};
  friend bool operator==(const StepCacheReport&, const StepCacheReport&) = default;
};

struct CacheTotals {
  std::size_t hit_tenant = 0;
  std::size_t hit_global = 0;
  std::size_t miss = 0;
  std::chrono::milliseconds duration{0};
  friend bool operator==(const CacheTotals&, const CacheTotals&) = default;
};

// Totals are derived from the steps, never stored, so they cannot disagree.
inline CacheTotals cache_totals(const std::vector<StepCacheReport>& steps) {
  CacheTotals totals;
  for (const auto& step : steps) {
    switch (step.outcome) {
      case CacheOutcome::hit_tenant: ++totals.hit_tenant; break;
      case CacheOutcome::hit_global: ++totals.hit_global; break;
      case CacheOutcome::miss: ++totals.miss; break;
    }
    totals.duration += step.duration;
  }
  return totals;
}

struct BaseImage {
  std::string reference{};  // as resolved, e.g. "127.0.0.1:8083/base/node:20"
  oci::Digest digest;       // its platform manifest
  friend bool operator==(const BaseImage&, const BaseImage&) = default;
};

// What a successful build pushed, plus provenance and the cache report.
struct BuildResult {
  oci::Digest manifest_digest;
  oci::Digest config_digest;
  std::string image_reference{};  // "<registry>/builds/{id}@<manifest digest>"
  std::vector<oci::Digest> layer_digests{};
  std::vector<BaseImage> base_images{};
  std::string engine_version{};
  std::vector<StepCacheReport> steps{};
  friend bool operator==(const BuildResult&, const BuildResult&) = default;
};

// ---- the build ------------------------------------------------------------------

// The registry token minted for the build's current or last run; recorded so
// it can be revoked when the run ends.
struct BuildToken {
  std::string jti{};
  Timestamp expires_at{};
  friend bool operator==(const BuildToken&, const BuildToken&) = default;
};

struct Build {
  std::string id{};
  std::string tenant{};                    // empty: an operator build
  std::string principal{};                 // subject of the credential that submitted it
  BuildStatus status = BuildStatus::queued;
  BuildRequest request;
  Timestamp created_at{};
  std::optional<Timestamp> started_at{};   // last move to building
  std::optional<Timestamp> finished_at{};  // move to a final status
  std::string error{};                     // why it failed or was cancelled
  std::optional<BuildResult> result{};
  std::optional<BuildToken> token{};
  int attempt = 1;                         // 2 after a retry on server restart
  friend bool operator==(const Build&, const Build&) = default;
};

}  // namespace strata::builds
