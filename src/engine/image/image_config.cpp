#include "common/rfc3339.h"
#include "engine/image/image_config.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace strata::engine::image {
namespace {

using nlohmann::json;

std::unexpected<Error> invalid(std::string_view field, std::string_view what) {
  return fail("IMAGE_CONFIG_INVALID", fmt::format("image config: {} {}", field, what));
}

// Reads one member of `object`; absent and null leave `out` untouched.
Result<void> read_string(const json& object, const char* key, std::string& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) return invalid(key, "must be a string");
  out = it->get<std::string>();
  return {};
}

Result<void> read_strings(const json& object, const char* key, std::vector<std::string>& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_array()) return invalid(key, "must be an array of strings");
  out.clear();
  for (const auto& item : *it) {
    if (!item.is_string()) return invalid(key, "must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return {};
}

Result<void> read_optional_strings(const json& object, const char* key,
                                   std::optional<std::vector<std::string>>& out) {
  if (!object.contains(key) || object[key].is_null()) return {};
  std::vector<std::string> values;
  if (auto ok = read_strings(object, key, values); !ok) return ok;
  out = std::move(values);
  return {};
}

// ExposedPorts and Volumes: objects whose keys are the values.
Result<void> read_key_set(const json& object, const char* key, std::set<std::string>& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_object()) return invalid(key, "must be an object");
  for (const auto& [name, unused] : it->items()) out.insert(name);
  return {};
}

Result<void> read_duration(const json& object, const char* key, std::optional<std::int64_t>& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_number_integer()) return invalid(key, "must be an integer (nanoseconds)");
  out = it->get<std::int64_t>();
  return {};
}

Result<Healthcheck> read_healthcheck(const json& object) {
  Healthcheck check;
  if (auto ok = read_strings(object, "Test", check.test); !ok) return std::unexpected(ok.error());
  for (auto [key, field] : {std::pair{"Interval", &check.interval}, {"Timeout", &check.timeout},
                            {"StartPeriod", &check.start_period}, {"StartInterval", &check.start_interval}})
    if (auto ok = read_duration(object, key, *field); !ok) return std::unexpected(ok.error());
  if (auto it = object.find("Retries"); it != object.end() && !it->is_null()) {
    if (!it->is_number_integer()) return invalid("Healthcheck.Retries", "must be an integer");
    check.retries = it->get<int>();
  }
  return check;
}

Result<ContainerConfig> read_container_config(const json& object) {
  ContainerConfig config;
  std::vector<Result<void>> reads = {
      read_strings(object, "Env", config.env),
      read_optional_strings(object, "Cmd", config.cmd),
      read_optional_strings(object, "Entrypoint", config.entrypoint),
      read_string(object, "WorkingDir", config.working_dir),
      read_string(object, "User", config.user),
      read_key_set(object, "ExposedPorts", config.exposed_ports),
      read_key_set(object, "Volumes", config.volumes),
      read_string(object, "StopSignal", config.stop_signal),
      read_strings(object, "OnBuild", config.on_build),
      read_strings(object, "Shell", config.shell),
  };
  for (auto& read : reads)
    if (!read) return std::unexpected(read.error());
  if (auto it = object.find("Labels"); it != object.end() && !it->is_null()) {
    if (!it->is_object()) return invalid("Labels", "must be an object");
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) return invalid("Labels", "values must be strings");
      config.labels[key] = value.get<std::string>();
    }
  }
  if (auto it = object.find("Healthcheck"); it != object.end() && !it->is_null()) {
    if (!it->is_object()) return invalid("Healthcheck", "must be an object");
    auto check = read_healthcheck(*it);
    if (!check) return std::unexpected(check.error());
    config.healthcheck = std::move(*check);
  }
  return config;
}

Result<std::vector<HistoryEntry>> read_history(const json& doc) {
  std::vector<HistoryEntry> history;
  auto it = doc.find("history");
  if (it == doc.end() || it->is_null()) return history;
  if (!it->is_array()) return invalid("history", "must be an array");
  for (const auto& item : *it) {
    if (!item.is_object()) return invalid("history", "entries must be objects");
    HistoryEntry entry;
    for (auto [key, field] : {std::pair{"created", &entry.created}, {"created_by", &entry.created_by},
                              {"author", &entry.author}, {"comment", &entry.comment}})
      if (auto ok = read_string(item, key, *field); !ok) return std::unexpected(ok.error());
    if (auto empty = item.find("empty_layer"); empty != item.end() && !empty->is_null()) {
      if (!empty->is_boolean()) return invalid("history.empty_layer", "must be a boolean");
      entry.empty_layer = empty->get<bool>();
    }
    history.push_back(std::move(entry));
  }
  return history;
}

Result<std::vector<oci::Digest>> read_diff_ids(const json& doc) {
  std::vector<oci::Digest> diff_ids;
  auto rootfs = doc.find("rootfs");
  if (rootfs == doc.end() || rootfs->is_null()) return diff_ids;
  if (!rootfs->is_object()) return invalid("rootfs", "must be an object");
  std::vector<std::string> texts;
  if (auto ok = read_strings(*rootfs, "diff_ids", texts); !ok) return std::unexpected(ok.error());
  for (const auto& text : texts) {
    auto digest = oci::Digest::parse(text);
    if (!digest) return invalid("rootfs.diff_ids", "holds an invalid digest: " + digest.error().message);
    diff_ids.push_back(std::move(*digest));
  }
  return diff_ids;
}

json key_set_object(const std::set<std::string>& keys) {
  json object = json::object();
  for (const auto& key : keys) object[key] = json::object();
  return object;
}

json healthcheck_json(const Healthcheck& check) {
  json out = {{"Test", check.test}};
  for (auto [key, field] : {std::pair{"Interval", &check.interval}, {"Timeout", &check.timeout},
                            {"StartPeriod", &check.start_period}, {"StartInterval", &check.start_interval}})
    if (*field) out[key] = **field;
  if (check.retries) out["Retries"] = *check.retries;
  return out;
}

// Empty fields are left out, as Go's omitempty does for BuildKit's images.
json container_config_json(const ContainerConfig& config) {
  json out = json::object();
  if (!config.env.empty()) out["Env"] = config.env;
  if (config.cmd) out["Cmd"] = *config.cmd;
  if (config.entrypoint) out["Entrypoint"] = *config.entrypoint;
  if (!config.working_dir.empty()) out["WorkingDir"] = config.working_dir;
  if (!config.user.empty()) out["User"] = config.user;
  if (!config.labels.empty()) out["Labels"] = config.labels;
  if (!config.exposed_ports.empty()) out["ExposedPorts"] = key_set_object(config.exposed_ports);
  if (!config.volumes.empty()) out["Volumes"] = key_set_object(config.volumes);
  if (!config.stop_signal.empty()) out["StopSignal"] = config.stop_signal;
  if (config.healthcheck) out["Healthcheck"] = healthcheck_json(*config.healthcheck);
  if (!config.on_build.empty()) out["OnBuild"] = config.on_build;
  if (!config.shell.empty()) out["Shell"] = config.shell;
  return out;
}

json history_json(const HistoryEntry& entry) {
  json out = json::object();
  if (!entry.created.empty()) out["created"] = entry.created;
  if (!entry.created_by.empty()) out["created_by"] = entry.created_by;
  if (!entry.author.empty()) out["author"] = entry.author;
  if (!entry.comment.empty()) out["comment"] = entry.comment;
  if (entry.empty_layer) out["empty_layer"] = true;
  return out;
}

}  // namespace

std::optional<std::string> ContainerConfig::env_value(std::string_view name) const {
  for (const auto& entry : env) {
    auto eq = entry.find('=');
    std::string_view key = std::string_view(entry).substr(0, eq);
    if (key == name) return eq == std::string::npos ? std::string() : entry.substr(eq + 1);
  }
  return std::nullopt;
}

void ContainerConfig::set_env(std::string_view name, std::string_view value) {
  std::string entry = fmt::format("{}={}", name, value);
  for (auto& existing : env) {
    if (std::string_view(existing).substr(0, existing.find('=')) == name) {
      existing = std::move(entry);
      return;
    }
  }
  env.push_back(std::move(entry));
}

Result<ImageConfig> parse_image_config(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return invalid("document", "is not a JSON object");
  ImageConfig image;
  for (auto [key, field] : {std::pair{"architecture", &image.architecture}, {"os", &image.os},
                            {"variant", &image.variant}, {"created", &image.created},
                            {"author", &image.author}})
    if (auto ok = read_string(doc, key, *field); !ok) return std::unexpected(ok.error());
  if (auto it = doc.find("config"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return invalid("config", "must be an object");
    auto config = read_container_config(*it);
    if (!config) return std::unexpected(config.error());
    image.config = std::move(*config);
  }
  auto diff_ids = read_diff_ids(doc);
  if (!diff_ids) return std::unexpected(diff_ids.error());
  image.diff_ids = std::move(*diff_ids);
  auto history = read_history(doc);
  if (!history) return std::unexpected(history.error());
  image.history = std::move(*history);
  return image;
}

std::string serialize_image_config(const ImageConfig& image) {
  json doc = json::object();
  doc["architecture"] = image.architecture;
  doc["os"] = image.os;
  if (!image.variant.empty()) doc["variant"] = image.variant;
  if (!image.created.empty()) doc["created"] = image.created;
  if (!image.author.empty()) doc["author"] = image.author;
  doc["config"] = container_config_json(image.config);
  json diff_ids = json::array();
  for (const auto& digest : image.diff_ids) diff_ids.push_back(digest.str());
  doc["rootfs"] = {{"type", "layers"}, {"diff_ids", std::move(diff_ids)}};
  if (!image.history.empty()) {
    json history = json::array();
    for (const auto& entry : image.history) history.push_back(history_json(entry));
    doc["history"] = std::move(history);
  }
  // nlohmann's object is a std::map: keys come out sorted. Text from a
  // Dockerfile need not be UTF-8; replace what JSON cannot carry.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string image_timestamp(std::optional<std::int64_t> epoch) {
  return rfc3339(epoch ? *epoch
                       : std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
}

}  // namespace strata::engine::image
