// The error bodies auth's HTTP endpoints answer with, one per audience:
//   registry_error: the distribution spec's {"errors":[{"code","message","detail"}]}
//                   (registry routes);
//   api_error:      {"error":{"code","message"}} (the strata API);
//   oauth_error:    RFC 6749 §5.2 {"error","error_description"} (/v2/token).
// Messages are sent to the client as given: never put secrets or server
// paths in them. Pure; thread-safe.
#pragma once

#include <string_view>

#include "http/message.h"

namespace strata::auth {

http::Response registry_error(int status, std::string_view code, std::string_view message);
http::Response api_error(int status, std::string_view code, std::string_view message);
http::Response oauth_error(int status, std::string_view error, std::string_view description);

}  // namespace strata::auth
