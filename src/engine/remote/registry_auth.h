// The Authorization side of RegistryClient: remembers which scheme a registry
// asked for (Bearer token service or Basic), fetches and caches Bearer tokens
// per set of scopes, and answers 401 challenges. Scopes are Docker scope
// strings: "repository:cache/acme:pull,push".
//
// Tokens come from the challenge's realm: GET ?service=..&scope=..(&scope=..)
// with Basic credentials when configured (anonymous otherwise); the answer's
// `token` or `access_token` is kept until shortly before `expires_in` (60 s
// when absent). Once a registry is known to use a token service, a request
// for new scopes fetches its token up front instead of paying for a 401.
//
// Not thread-safe; owned by one RegistryClient and sharing its http::Client.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/remote/credentials.h"
#include "http/client.h"

namespace strata::engine::remote {

using Scopes = std::vector<std::string>;

class RegistryAuth {
 public:
  RegistryAuth(http::Client& client, Credentials credentials, bool insecure);

  // Sets (or removes) the Authorization header for a request needing `scopes`.
  // Fails when a token had to be fetched and the token service refused.
  Result<void> authorize(http::ClientRequest& request, const Scopes& scopes);

  // Learns from a 401 response. True when sending the request again with
  // authorize() can succeed (a new token was fetched, or Basic credentials
  // are now known to be wanted); false when the 401 is final.
  Result<bool> handle_challenge(const http::ClientResponse& response, const Scopes& scopes);

 private:
  enum class Scheme { unknown, bearer, basic };
  struct CachedToken {
    std::string token;
    std::chrono::steady_clock::time_point expires;
  };

  Result<std::string> fetch_token(const Scopes& scopes, const std::string& challenge_scope);
  std::string basic_header() const;

  http::Client& client_;
  Credentials credentials_;
  bool insecure_;
  Scheme scheme_ = Scheme::unknown;
  std::string realm_;
  std::string service_;
  std::map<std::string, CachedToken> tokens_;  // keyed by the joined scopes
};

}  // namespace strata::engine::remote
