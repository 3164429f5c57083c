// The OCI image configuration (image-spec config.md) as the builder reads it
// from a base image and writes it for the image it produces: platform,
// container config (Env, Cmd, Entrypoint, WorkingDir, User, Labels,
// ExposedPorts, Volumes, StopSignal, Healthcheck, OnBuild, Shell), rootfs
// diff-ids and history. Fields the builder does not model (Docker's
// container_config, docker_version, ...) are dropped, as BuildKit does.
//
// serialize_image_config() is deterministic: compact JSON with keys sorted,
// empty fields omitted, so the same model always gives the same bytes (and
// config digest). Timestamps are the caller's: image_timestamp() gives
// SOURCE_DATE_EPOCH or the current time in RFC 3339.
//
// Contract: value types; functions are pure and thread-safe. parse fails with
// IMAGE_CONFIG_INVALID naming the field. nlohmann stays in the .cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "oci/digest.h"

namespace strata::engine::image {

// Durations are nanoseconds, as in the JSON.
struct Healthcheck {
  std::vector<std::string> test;  // ["NONE"], ["CMD", argv...] or ["CMD-SHELL", text]
  std::optional<std::int64_t> interval, timeout, start_period, start_interval;
  std::optional<int> retries;
  friend bool operator==(const Healthcheck&, const Healthcheck&) = default;
};

struct ContainerConfig {
  std::vector<std::string> env;  // "KEY=value", in order of first definition
  std::optional<std::vector<std::string>> cmd;         // nullopt: not set
  std::optional<std::vector<std::string>> entrypoint;  // nullopt: not set
  std::string working_dir;
  std::string user;
  std::map<std::string, std::string> labels;
  std::set<std::string> exposed_ports;  // "80/tcp"
  std::set<std::string> volumes;        // "/data"
  std::string stop_signal;
  std::optional<Healthcheck> healthcheck;
  std::vector<std::string> on_build;
  std::vector<std::string> shell;  // empty: the default ["/bin/sh", "-c"]

  // The value of environment variable `name`, if set.
  std::optional<std::string> env_value(std::string_view name) const;
  // Sets `name`, replacing an existing definition in place.
  void set_env(std::string_view name, std::string_view value);

  friend bool operator==(const ContainerConfig&, const ContainerConfig&) = default;
};

struct HistoryEntry {
  std::string created;  // RFC 3339; empty when unknown
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;  // the step added no layer
  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

struct ImageConfig {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string created;  // RFC 3339
  std::string author;
  ContainerConfig config;
  std::vector<oci::Digest> diff_ids;  // rootfs.diff_ids, lowest layer first
  std::vector<HistoryEntry> history;
  friend bool operator==(const ImageConfig&, const ImageConfig&) = default;
};

Result<ImageConfig> parse_image_config(std::string_view json);

std::string serialize_image_config(const ImageConfig& image);

// "YYYY-MM-DDTHH:MM:SSZ" for `epoch` seconds (SOURCE_DATE_EPOCH), or for the
// current time when it is not set.
std::string image_timestamp(std::optional<std::int64_t> epoch);

}  // namespace strata::engine::image
