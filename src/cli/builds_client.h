// The client side of strata's build API (/builds) for `strata build` and
// `strata builds ...`: the --server / --api-key flags every such command
// takes, and authenticated calls that turn the API's error documents
// ({"error":{"code","message"}}) into Errors a command can print.
//
// Contract: a BuildsClient owns one http::Client (one connection cache) and
// is not thread-safe. Failures: the transport's codes (CONNECTION, TIMEOUT,
// ...) when no response came, else the API's own error code and message for
// any non-2xx status (HTTP_<status> when the body is not an API error).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/error.h"
#include "http/client.h"

namespace CLI {
class App;
}

namespace strata::cli {

struct ServiceFlags {
  std::string server;   // base URL, e.g. http://127.0.0.1:8080
  std::string api_key;  // API key (sk_...) or API token
};

// --server (STRATA_SERVER) and --api-key (STRATA_API_KEY), both required.
void add_service_flags(CLI::App& command, ServiceFlags& flags);

class BuildsClient {
 public:
  explicit BuildsClient(ServiceFlags flags);

  // `request` with the base URL put before its url (a path) and the API key
  // as Bearer. Any HTTP status is a success here; see call() for checked ones.
  Result<http::ClientResponse> send(http::ClientRequest request, std::size_t body_limit);
  Result<http::ClientResponse> send(http::ClientRequest request, const http::BodySink& sink);

  // A JSON call: non-2xx becomes the API's error, a 2xx body is parsed.
  Result<nlohmann::json> call(std::string_view method, std::string_view path);

  // A non-2xx response as an Error (the API's code and message if present).
  static Error api_error(const http::ClientResponse& response);

 private:
  http::ClientRequest authorized(http::ClientRequest request) const;

  ServiceFlags flags_;
  http::Client client_;
};

// Prints "strata <command>: <message>" to stderr; returns exit code 1.
int report_failure(std::string_view command, const Error& error);

}  // namespace strata::cli
