#include "auth/strict_json.h"

#include <set>
#include <string>
#include <vector>

namespace strata::auth {
namespace {
constexpr int kMaxDepth = 16;
}

std::optional<nlohmann::json> parse_json_object(std::string_view text) {
  std::vector<std::set<std::string>> members;
  bool rejected = false;
  auto check = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (depth > kMaxDepth) rejected = true;
    if (event == E::object_start) {
      members.emplace_back();
    } else if (event == E::object_end) {
      if (!members.empty()) members.pop_back();
    } else if (event == E::key) {
      if (members.empty() || !members.back().insert(parsed.get<std::string>()).second) rejected = true;
    }
    return true;
  };
  auto value = nlohmann::json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/false);
  if (rejected || value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace strata::auth
