// A small blocking HTTP/1.1 client (libcurl inside client.cpp only) for
// talking to registries and token services like any other client does.
//
// One Client owns one connection cache: consecutive requests to the same host
// reuse the connection. A Client is not thread-safe; use one per thread.
//
// Bodies stream both ways. A request body is a string or a pull source (with
// a known length, sent with Content-Length, or unknown, sent chunked). A
// response body is either buffered up to a limit or pushed to a sink; a sink
// only ever sees the body of a 2xx response, so an error document never ends
// up in a caller's blob file — it is buffered in ClientResponse::body instead.
//
// Failures: request() fails only when no HTTP response was obtained or the
// transfer broke (codes CONNECTION, TIMEOUT, TLS, TOO_LARGE, or the code of
// the error a source, sink or connect check returned). Any HTTP status, 4xx and 5xx
// included, is a successful request() whose status the caller interprets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/error.h"
#include "http/message.h"

namespace strata::http {

// Fills `buffer` with up to `size` bytes of request body; returns the number
// written, 0 at the end of the body, or an error that aborts the request.
using BodySource = std::function<Result<std::size_t>(char* buffer, std::size_t size)>;

// A request body produced while it is sent. A source is read once: a request
// with a streamed body cannot be replayed (redirects, auth retries).
struct StreamedBody {
  BodySource read;
  std::optional<std::uint64_t> length;  // nullopt: sent with chunked encoding
};

// Receives the body of a 2xx response chunk by chunk; an error aborts the
// transfer and is what request() returns.
using BodySink = std::function<Result<void>(std::string_view chunk)>;

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  // No body (monostate): POST, PUT and PATCH still send "Content-Length: 0".
  std::variant<std::monostate, std::string, StreamedBody> body;
  // Redirects are followed only when asked (blob GETs that redirect to
  // storage). Authorization is never forwarded to another host.
  bool follow_redirects = false;
  // Skips TLS certificate and host name verification (registries configured
  // as insecure). Plain http:// URLs need no flag.
  bool insecure = false;
  // Whole-request limit; zero means none (large blobs rely on the stall limit).
  std::chrono::milliseconds timeout{0};
};

struct ClientResponse {
  int status = 0;
  Headers headers;       // of the final response when redirects were followed
  std::string body;      // buffered body; for non-2xx also when a sink was given
  std::string url;       // final URL after redirects
};

// Where a connection is about to go: the host and port of the URL being
// fetched (after redirects; an IPv6 host without brackets) and the numeric
// address the host resolved to ("192.0.2.1", "2001:db8::1").
struct ConnectTarget {
  std::string host;
  std::uint16_t port = 0;
  std::string address;
};

// Decides whether a socket may be opened to `target`, for every address
// tried. A refusal makes no connection to that address; when no address was
// allowed it is what request() returns.
using ConnectCheck = std::function<Result<void>(const ConnectTarget& target)>;

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  // A transfer that moves no byte for this long fails with TIMEOUT.
  std::chrono::seconds stall_timeout{60};
  std::string user_agent = "strata";
  // Unset: any address. Set: proxies from the environment are not used, so
  // the check sees where each connection really goes.
  ConnectCheck connect_check;
};

class Client {
 public:
  // Largest error body kept when a sink receives the body of 2xx responses.
  static constexpr std::size_t kMaxErrorBody = 64 * 1024;

  explicit Client(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Buffers the response body; a body larger than `body_limit` fails with
  // TOO_LARGE. HEAD responses have an empty body.
  Result<ClientResponse> request(const ClientRequest& request, std::size_t body_limit);
  // Streams the body of a 2xx response to `sink`; other bodies are buffered
  // (up to kMaxErrorBody) into the returned response.
  Result<ClientResponse> request(const ClientRequest& request, const BodySink& sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes everything but RFC 3986 unreserved characters, for query
// parameter names and values.
std::string percent_encode(std::string_view text);

}  // namespace strata::http
