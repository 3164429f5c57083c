// How the build service refuses one field of a POST /builds request: an Error
// whose detail is the field's name, which the API turns into
// {"error": {"code", "message", "field"}}. FIELD_INVALID (400) means the value
// breaks the field's rules and its message starts with "<field>: "; FORBIDDEN
// (403) means the caller's role may not ask for it. Pure; thread-safe.
#pragma once

#include <string_view>

#include "common/error.h"

namespace strata::builds {

inline constexpr std::string_view kFieldInvalid = "FIELD_INVALID";
inline constexpr std::string_view kForbidden = "FORBIDDEN";

// FIELD_INVALID, message "<field>: <what>".
std::unexpected<Error> field_error(std::string_view field, std::string_view what);
// FORBIDDEN, message `what` as given.
std::unexpected<Error> forbidden(std::string_view field, std::string_view what);

}  // namespace strata::builds
