// Registry error responses in the distribution spec's shape:
//   {"errors":[{"code":"BLOB_UNKNOWN","message":"...","detail":...}]}
// with the HTTP status the spec gives each code.
#pragma once

#include <string_view>

#include "common/error.h"
#include "http/message.h"

namespace strata::registry {

// HTTP status for a spec error code (BLOB_UNKNOWN -> 404, DENIED -> 403, ...);
// codes outside the spec (IO, INTERNAL) map to 500.
int status_for(std::string_view code);

// The spec's error JSON for `error`, with status_for(error.code) unless
// `status` is given.
http::Response error_response(const Error& error, int status = 0);
http::Response error_response(std::string_view code, std::string_view message, int status = 0);

}  // namespace strata::registry
