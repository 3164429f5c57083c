// HTTP request/response types that handlers see. No Boost here: the Beast
// server (server.cpp) translates to and from these, so handler code and its
// tests compile without heavy headers.
//
// Bodies stream: a Request's body is pulled through BodyReader (never held
// whole in memory), and a Response body is a string, a file range (sent with
// sendfile) or a producer callback (server-sent events, generated output).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/error.h"

namespace strata::http {

// Case-insensitive header multimap preserving insertion order.
class Headers {
 public:
  void add(std::string name, std::string value);
  void set(std::string name, std::string value);  // replaces all of that name
  void remove(std::string_view name);
  std::optional<std::string_view> get(std::string_view name) const;  // first
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// Pull-based request body. read() blocks until at least one byte, end of body
// (returns 0) or an error (client went away, malformed chunked encoding).
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  virtual Result<std::size_t> read(char* buffer, std::size_t size) = 0;
  // Declared Content-Length, if the request had one (not for chunked bodies).
  virtual std::optional<std::uint64_t> content_length() const = 0;
};

// Reads a whole body into memory, refusing bodies larger than `limit`
// (error code "TOO_LARGE"). Only for small bodies such as manifests.
Result<std::string> read_all(BodyReader& body, std::size_t limit);

struct Request {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // raw request target, e.g. "/v2/a/b/tags/list?n=10"
  std::string path;    // percent-decoded path part of target
  std::multimap<std::string, std::string> query;  // decoded query parameters
  Headers headers;
  BodyReader* body = nullptr;  // never null while a handler runs

  // Parameters captured by the route pattern, e.g. {"name","cache/global/node"}.
  std::map<std::string, std::string> params;
  // Id of the matched route ("blob_get"), or "unmatched"; used in metrics.
  std::string route_id = "unmatched";

  // Set by the authorization step before the handler runs; handlers that
  // filter results (catalog) ask it what the caller may see. Null when auth
  // is disabled.
  std::shared_ptr<const void> principal;

  std::optional<std::string> query_param(std::string_view name) const;
  const std::string& param(const std::string& name) const { return params.at(name); }
};

// A byte range of an open file, sent with sendfile(2). The fd is owned
// (closed when the last copy of the shared_ptr goes).
struct FileBody {
  std::shared_ptr<int> fd;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// Producer for streamed bodies (sent with chunked encoding). `write` returns
// false when the client is gone; the producer should then return.
using StreamWriter = std::function<bool(std::string_view chunk)>;
struct StreamBody {
  std::function<void(const StreamWriter& write)> produce;
};

struct Response {
  int status = 200;
  Headers headers;
  std::variant<std::string, FileBody, StreamBody> body;

  // For HEAD: the server sends headers (with the Content-Length the GET body
  // would have) and no body, so handlers can serve GET and HEAD alike.
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  static Response json(int status, std::string body);
  static Response empty(int status);
};

FileBody open_file_body(int fd, std::uint64_t offset, std::uint64_t length);

}  // namespace strata::http
