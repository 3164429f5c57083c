// The HTTP/1.1 server (Boost.Beast inside server.cpp only). One thread per
// connection with blocking I/O: handlers may block on disk and SQLite, bodies
// stream in both directions, keep-alive and chunked encoding are handled here.
//
// Every request goes to one RequestHandler (the application: routing,
// authorization, handlers); the server only records metrics and writes the
// Response. Thread-safety: the handler is called concurrently from many
// connection threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/error.h"
#include "http/message.h"
#include "http/metrics.h"

namespace strata::http {

using RequestHandler = std::function<Response(Request&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8083;  // 0 picks a free port
  std::size_t max_connections = 1024;
  std::size_t max_header_bytes = 64 * 1024;
};

class Server {
 public:
  Server(ServerOptions options, RequestHandler handler, Metrics& metrics);
  ~Server();

  // Binds and listens; after this, port() is the bound port.
  Result<void> listen();
  std::uint16_t port() const;
  // Accepts connections until stop() is called (from a signal thread, say).
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "host:port" -> host and port. Accepts "127.0.0.1:8083", ":8083", "[::1]:8083".
Result<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view text);

}  // namespace strata::http
