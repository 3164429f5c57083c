// WWW-Authenticate challenges (RFC 9110 section 11.6.1) as registries send
// them: `Bearer realm="https://auth.example/token",service="registry",
// scope="repository:a/b:pull"` or `Basic realm="x"`. Lenient by design: a
// malformed parameter is skipped rather than failing the pull. Pure.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace strata::engine::remote {

struct AuthChallenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lower case, values unquoted
};

// All challenges of one header value, in order.
std::vector<AuthChallenge> parse_auth_challenges(std::string_view header);

}  // namespace strata::engine::remote
