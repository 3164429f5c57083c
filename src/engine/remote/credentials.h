// What a RegistryClient presents to one registry: nothing (anonymous pulls,
// still through the token flow), a user name and password (Basic, and to the
// token service), or a fixed Bearer token (the build's own registry token when
// the registry is strata). Plain value type.
#pragma once

#include <string>

namespace strata::engine::remote {

struct Credentials {
  enum class Kind { none, basic, bearer };

  Kind kind = Kind::none;
  std::string username;  // basic
  std::string secret;    // basic: the password; bearer: the token

  static Credentials anonymous() { return {}; }
  static Credentials basic(std::string username, std::string password) {
    return {Kind::basic, std::move(username), std::move(password)};
  }
  static Credentials bearer(std::string token) { return {Kind::bearer, {}, std::move(token)}; }
};

}  // namespace strata::engine::remote
