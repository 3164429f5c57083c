// Internal to src/auth (pulls in nlohmann; do not include from public
// headers). Parses untrusted JSON the way token checks need it: the text must
// be one JSON object, with no duplicate member names at any level (a parser
// differential between two verifiers must not turn into two readings of one
// token) and nesting no deeper than a token ever needs.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace strata::auth {

std::optional<nlohmann::json> parse_json_object(std::string_view text);

// dump() that never throws on strings that are not UTF-8.
std::string dump_json(const nlohmann::json& value);

}  // namespace strata::auth
