// The credentials a request presents in its Authorization header, split by
// scheme (RFC 9110 / RFC 7617): "Bearer <token>" or "Basic
// base64(user:password)". Scheme names are case-insensitive. What the
// credentials are worth (a registry token, an API token, an API key) is for
// the caller to decide. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace strata::auth {

struct PresentedCredentials {
  enum class Scheme {
    none,       // no Authorization header
    bearer,     // secret holds the token
    basic,      // user and secret hold user name and password
    malformed,  // an unknown scheme, bad base64, no ':' or an empty value
  };
  Scheme scheme = Scheme::none;
  std::string user;
  std::string secret;
};

PresentedCredentials presented_credentials(const http::Request& request);

// The strings of `credentials` that may be a JWT (three '.'-separated parts):
// the bearer token, or the Basic password and user name, password first.
std::vector<std::string_view> jwt_candidates(const PresentedCredentials& credentials);

}  // namespace strata::auth
