#include "sandbox/sandbox_policy.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace strata::sandbox {
namespace {

using nlohmann::json;

std::unexpected<Error> invalid(std::string_view field, std::string_view what) {
  return fail("CONFIG_INVALID", fmt::format("{} {}", field, what));
}

Result<std::vector<std::string>> string_list(const json& doc, const char* key, std::string_view field) {
  std::vector<std::string> list;
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return list;
  if (!it->is_array()) return invalid(field, "must be an array of strings");
  for (const auto& item : *it) {
    if (!item.is_string()) return invalid(field, "must be an array of strings");
    list.push_back(item.get<std::string>());
  }
  return list;
}

Result<std::int64_t> limit(const json& doc, const char* key, std::int64_t fallback, std::string_view field) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0) return invalid(field, "must be a non-negative integer");
  return it->get<std::int64_t>();
}

}  // namespace

std::string_view runtime_name(RuntimeKind kind) {
  switch (kind) {
    case RuntimeKind::runc: return "runc";
    case RuntimeKind::crun: return "crun";
    case RuntimeKind::runsc: return "runsc";
  }
  return "runc";
}

Result<RuntimeKind> parse_runtime(std::string_view name) {
  for (auto kind : {RuntimeKind::runc, RuntimeKind::crun, RuntimeKind::runsc})
    if (runtime_name(kind) == name) return kind;
  return invalid("runtime", "must be runc, crun or runsc");
}

Result<IdRange> parse_id_range(std::string_view text) {
  auto colon = text.find(':');
  std::uint64_t start = 0, size = 0;
  auto number = [](std::string_view part, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return !part.empty() && ec == std::errc() && end == part.data() + part.size();
  };
  if (colon == std::string_view::npos || !number(text.substr(0, colon), start) || !number(text.substr(colon + 1), size))
    return invalid("userns range", "must be <first host id>:<count>, e.g. 100000:65536");
  if (start == 0) return invalid("userns range", "must not start at host id 0 (container root would be host root)");
  if (size < 65536) return invalid("userns range", "must hold at least 65536 ids (container ids 0-65535)");
  if (start + size > 0xFFFFFFFFull) return invalid("userns range", "must end below 4294967295");
  return IdRange{static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(size)};
}

IdRange build_id_range(const IdRange& pool, std::size_t slot) {
  constexpr std::uint32_t kPerBuild = 65536;
  std::size_t slots = std::max<std::size_t>(1, pool.size / kPerBuild);
  return {static_cast<std::uint32_t>(pool.host_start + (slot % slots) * kPerBuild), kPerBuild};
}

Result<std::int64_t> parse_byte_size(std::string_view text) {
  std::string_view digits = text;
  std::size_t unit_at = digits.find_first_not_of("0123456789.");
  std::string_view unit = unit_at == std::string_view::npos ? std::string_view() : digits.substr(unit_at);
  digits = digits.substr(0, unit_at);
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value < 0)
    return invalid("size", fmt::format("{:?} must be a number of bytes, optionally with k, m, g or t", std::string(text)));
  while (unit.starts_with(' ')) unit.remove_prefix(1);
  std::string lower;
  for (char c : unit) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.ends_with("ib")) lower.resize(lower.size() - 2);
  else if (lower.size() > 1 && lower.ends_with('b')) lower.pop_back();
  double scale = 1;
  if (lower == "" || lower == "b") scale = 1;
  else if (lower == "k") scale = 1024.0;
  else if (lower == "m") scale = 1024.0 * 1024;
  else if (lower == "g") scale = 1024.0 * 1024 * 1024;
  else if (lower == "t") scale = 1024.0 * 1024 * 1024 * 1024;
  else return invalid("size", fmt::format("{:?} has an unknown unit (use k, m, g or t)", std::string(text)));
  double bytes = std::floor(value * scale);
  if (bytes > 9.0e18) return invalid("size", fmt::format("{:?} is too large", std::string(text)));
  return static_cast<std::int64_t>(bytes);
}

std::string format_byte_size(std::int64_t bytes) {
  constexpr std::pair<std::int64_t, const char*> kUnits[] = {
      {std::int64_t{1} << 40, "TiB"}, {std::int64_t{1} << 30, "GiB"}, {std::int64_t{1} << 20, "MiB"}, {1024, "KiB"}};
  for (auto [size, name] : kUnits) {
    if (bytes < size) continue;
    if (bytes % size == 0) return fmt::format("{} {}", bytes / size, name);
    return fmt::format("{:.1f} {}", static_cast<double>(bytes) / static_cast<double>(size), name);
  }
  return fmt::format("{} bytes", bytes);
}

std::string sandbox_policy_json(const SandboxPolicy& policy) {
  json doc = {
      {"runtime", runtime_name(policy.runtime)},
      {"userns", {{"host_start", policy.ids.host_start}, {"size", policy.ids.size}}},
      {"limits",
       {{"pids", policy.limits.pids},
        {"memory_bytes", policy.limits.memory_bytes},
        {"cpus", policy.limits.cpus},
        {"disk_bytes", policy.limits.disk_bytes},
        {"step_log_bytes", policy.limits.step_log_bytes},
        {"build_log_bytes", policy.limits.build_log_bytes}}},
      {"egress_allow", policy.network.egress_allow},
      {"egress_deny", policy.network.egress_deny},
      {"registry_allow", policy.network.registry_allow},
  };
  if (!policy.runtime_path.empty()) doc["runtime_path"] = policy.runtime_path;
  return doc.dump();
}

Result<SandboxPolicy> parse_sandbox_policy(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return invalid("sandbox", "must be an object");
  SandboxPolicy policy;
  if (auto it = doc.find("runtime"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) return invalid("sandbox.runtime", "must be a string");
    auto kind = parse_runtime(it->get<std::string>());
    if (!kind) return std::unexpected(kind.error());
    policy.runtime = *kind;
  }
  if (auto it = doc.find("runtime_path"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) return invalid("sandbox.runtime_path", "must be a string");
    policy.runtime_path = it->get<std::string>();
  }
  if (auto it = doc.find("userns"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return invalid("sandbox.userns", "must be an object {host_start, size}");
    auto start = limit(*it, "host_start", policy.ids.host_start, "sandbox.userns.host_start");
    auto size = limit(*it, "size", policy.ids.size, "sandbox.userns.size");
    if (!start) return std::unexpected(start.error());
    if (!size) return std::unexpected(size.error());
    auto range = parse_id_range(fmt::format("{}:{}", *start, *size));
    if (!range) return std::unexpected(range.error());
    policy.ids = *range;
  }
  if (auto it = doc.find("limits"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return invalid("sandbox.limits", "must be an object");
    BuildLimits& limits = policy.limits;
    for (auto [key, field] : {std::pair{"pids", &limits.pids}, std::pair{"memory_bytes", &limits.memory_bytes},
                              std::pair{"disk_bytes", &limits.disk_bytes},
                              std::pair{"step_log_bytes", &limits.step_log_bytes},
                              std::pair{"build_log_bytes", &limits.build_log_bytes}}) {
      auto value = limit(*it, key, *field, fmt::format("sandbox.limits.{}", key));
      if (!value) return std::unexpected(value.error());
      *field = *value;
    }
    if (auto cpus = it->find("cpus"); cpus != it->end() && !cpus->is_null()) {
      if (!cpus->is_number() || cpus->get<double>() < 0) return invalid("sandbox.limits.cpus", "must be a non-negative number");
      limits.cpus = cpus->get<double>();
    }
  }
  for (auto [key, list] : {std::pair{"egress_allow", &policy.network.egress_allow},
                           std::pair{"egress_deny", &policy.network.egress_deny},
                           std::pair{"registry_allow", &policy.network.registry_allow}}) {
    auto value = string_list(doc, key, fmt::format("sandbox.{}", key));
    if (!value) return std::unexpected(value.error());
    *list = std::move(*value);
  }
  return policy;
}

}  // namespace strata::sandbox
