// Beast-based HTTP/1.1 server: thread per connection, blocking I/O, request
// bodies pulled by handlers through BodyReader, file bodies sent with
// sendfile(2), streamed bodies with chunked encoding.
#include "http/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <limits>
#include <charconv>
#include <spdlog/spdlog.h>
#include <thread>

namespace strata::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kDrainLimit = 1 << 20;  // unread body we drain to keep a connection
constexpr int kIdleTimeoutSeconds = 300;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `plus_is_space` for query components.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool split_target(std::string_view target, Request& req) {
  auto q = target.find('?');
  auto path = percent_decode(target.substr(0, q), false);
  if (!path || path->empty() || path->front() != '/') return false;
  req.path = std::move(*path);
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) return false;
    req.query.emplace(std::move(*key), std::move(*value));
  }
  return true;
}

// BodyReader over a Beast parser whose header has been read. Sends
// "100 Continue" lazily, when the handler first asks for the body.
//
// A body with a Content-Length is read straight from the socket into the
// handler's buffer (after what the header read already buffered): going
// through the parser would copy every byte once more and read the socket in
// pieces no larger than the header buffer's capacity. Chunked bodies go
// through the parser, which decodes the chunk framing.
class ParserBodyReader final : public BodyReader {
 public:
  ParserBodyReader(tcp::socket& socket, beast::flat_buffer& buffer,
                   bhttp::request_parser<bhttp::buffer_body>& parser)
      : socket_(socket), buffer_(buffer), parser_(parser) {
    auto expect = parser_.get()[bhttp::field::expect];
    expects_continue_ = beast::iequals(expect, "100-continue");
    if (!parser_.chunked() && parser_.content_length()) {
      direct_ = true;
      remaining_ = *parser_.content_length();
    }
  }

  Result<std::size_t> read(char* out, std::size_t size) override {
    if (done() || size == 0) return 0;
    if (expects_continue_ && !continue_sent_) {
      beast::error_code ec;
      asio::write(socket_, asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")), ec);
      if (ec) return fail("IO", "writing 100 Continue: " + ec.message());
      continue_sent_ = true;
    }
    auto got = direct_ ? read_direct(out, size) : read_chunked(out, size);
    if (got) bytes_ += *got;
    return got;
  }

  std::optional<std::uint64_t> content_length() const override {
    auto len = parser_.content_length();
    if (!len) return std::nullopt;
    return *len;
  }

  std::uint64_t bytes() const { return bytes_; }
  bool done() const { return direct_ ? remaining_ == 0 : parser_.is_done(); }
  // The client is waiting for "100 Continue" and has not sent the body.
  bool body_withheld() const { return expects_continue_ && !continue_sent_; }

 private:
  Result<std::size_t> read_direct(char* out, std::size_t size) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size, remaining_));
    std::size_t got = 0;
    if (buffer_.size() > 0) {
      got = asio::buffer_copy(asio::buffer(out, want), buffer_.data());
      buffer_.consume(got);
    } else {
      beast::error_code ec;
      got = socket_.read_some(asio::buffer(out, want), ec);
      if (ec) return fail("IO", "reading request body: " + ec.message());
    }
    remaining_ -= got;
    return got;
  }

  Result<std::size_t> read_chunked(char* out, std::size_t size) {
    if (buffer_.capacity() < kChunkedReadBuffer) buffer_.reserve(kChunkedReadBuffer);
    for (;;) {
      auto& body = parser_.get().body();
      body.data = out;
      body.size = size;
      beast::error_code ec;
      bhttp::read(socket_, buffer_, parser_, ec);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return fail("IO", "reading request body: " + ec.message());
      std::size_t got = size - parser_.get().body().size;
      if (got > 0 || parser_.is_done()) return got;
    }
  }

  static constexpr std::size_t kChunkedReadBuffer = 256 * 1024;
  tcp::socket& socket_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::buffer_body>& parser_;
  bool expects_continue_ = false;
  bool continue_sent_ = false;
  bool direct_ = false;
  std::uint64_t remaining_ = 0;
  std::uint64_t bytes_ = 0;
};

bool status_has_body(int status) { return status >= 200 && status != 204 && status != 304; }

std::string status_line(int status) {
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  std::string line = "HTTP/1.1 ";
  line += std::to_string(status);
  line += ' ';
  line.append(reason.data(), reason.size());
  line += "\r\n";
  return line;
}

class ResponseWriter {
 public:
  explicit ResponseWriter(tcp::socket& socket) : socket_(socket) {}

  // Returns false if the connection broke while writing.
  bool write(const Request& req, Response& res, bool keep_alive) {
    bool head = req.method == "HEAD";
    bool body_allowed = status_has_body(res.status);
    std::string out = status_line(res.status);
    auto handler_length = res.headers.get("Content-Length");
    bool keep_handler_length = head && handler_length && std::holds_alternative<std::string>(res.body) &&
                               std::get<std::string>(res.body).empty();
    if (!keep_handler_length) res.headers.remove("Content-Length");
    res.headers.remove("Transfer-Encoding");
    res.headers.remove("Connection");
    for (const auto& [k, v] : res.headers.entries()) {
      out += k;
      out += ": ";
      out += v;
      out += "\r\n";
    }
    if (!keep_alive) out += "Connection: close\r\n";

    if (auto* text = std::get_if<std::string>(&res.body)) {
      if (body_allowed && !keep_handler_length)
        out += "Content-Length: " + std::to_string(text->size()) + "\r\n";
      out += "\r\n";
      if (head || !body_allowed) return send(out);
      bytes_ += text->size();
      return send(out, *text);
    }
    if (auto* file = std::get_if<FileBody>(&res.body)) {
      out += "Content-Length: " + std::to_string(file->length) + "\r\n\r\n";
      if (!send(out)) return false;
      if (head) return true;
      return send_file(*file);
    }
    auto& stream = std::get<StreamBody>(res.body);
    out += "Transfer-Encoding: chunked\r\n\r\n";
    if (!send(out)) return false;
    if (head) return true;
    bool ok = true;
    stream.produce([&](std::string_view chunk) {
      if (!ok) return false;
      if (chunk.empty()) return true;
      char size_line[32];
      auto [end, _] = std::to_chars(size_line, size_line + 20, chunk.size(), 16);
      *end++ = '\r';
      *end++ = '\n';
      std::array<asio::const_buffer, 3> parts{
          asio::buffer(size_line, static_cast<std::size_t>(end - size_line)), asio::buffer(chunk.data(), chunk.size()),
          asio::buffer("\r\n", 2)};
      beast::error_code ec;
      asio::write(socket_, parts, ec);
      bytes_ += chunk.size();
      ok = !ec;
      return ok;
    });
    return ok && send("0\r\n\r\n");
  }

  std::uint64_t bytes() const { return bytes_; }

 private:
  bool send(std::string_view a, std::string_view b = {}) {
    std::array<asio::const_buffer, 2> parts{asio::buffer(a.data(), a.size()), asio::buffer(b.data(), b.size())};
    beast::error_code ec;
    asio::write(socket_, parts, ec);
    return !ec;
  }

  bool send_file(const FileBody& file) {
    off_t offset = static_cast<off_t>(file.offset);
    std::uint64_t remaining = file.length;
    while (remaining > 0) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, 1u << 30));
      ssize_t n = ::sendfile(socket_.native_handle(), *file.fd, &offset, want);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      remaining -= static_cast<std::uint64_t>(n);
      bytes_ += static_cast<std::uint64_t>(n);
    }
    return true;
  }

  tcp::socket& socket_;
  std::uint64_t bytes_ = 0;
};

void set_socket_options(tcp::socket& socket) {
  int fd = socket.native_handle();
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{kIdleTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Reads and discards what is left of a small request body so the connection
// can be reused; false if the body is too large or the client is waiting.
bool drain(ParserBodyReader& body) {
  if (body.done()) return true;
  if (body.body_withheld()) return false;
  char buf[16 * 1024];
  std::uint64_t drained = 0;
  while (drained < kDrainLimit) {
    auto n = body.read(buf, sizeof buf);
    if (!n) return false;
    if (*n == 0) return true;
    drained += *n;
  }
  return false;
}

// The client is still sending a body we will not read (a refused upload).
// Closing now would reset the connection and the client might never see
// our answer, so stop sending, then discard what arrives for a little while.
void linger(tcp::socket& socket) {
  constexpr std::size_t kLingerLimit = 16 << 20;
  beast::error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  timeval tv{2, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[64 * 1024];
  std::size_t discarded = 0;
  while (discarded < kLingerLimit) {
    auto n = socket.read_some(asio::buffer(buf), ec);
    if (ec) break;
    discarded += n;
  }
}

Response error_response(int status, std::string_view message) {
  return Response::text(status, std::string(message) + "\n");
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  RequestHandler handler;
  Metrics& metrics;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::atomic<bool> stopping{false};
  // Open connections, so stop() can end them and ~Server can wait for
  // their threads (which use this Impl) to finish.
  std::mutex connections_mutex;
  std::condition_variable connections_done;
  std::set<int> connection_fds;
  std::size_t connection_threads = 0;

  Impl(ServerOptions o, RequestHandler h, Metrics& m)
      : options(std::move(o)), handler(std::move(h)), metrics(m) {}

  void serve(tcp::socket socket);
  bool serve_one(tcp::socket& socket, beast::flat_buffer& buffer);
};

bool Server::Impl::serve_one(tcp::socket& socket, beast::flat_buffer& buffer) {
  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  // Boost 1.74 compares lengths against an empty optional as "greater", so
  // "no limit" must be spelled as the largest value.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::error_code ec;
  bhttp::read_header(socket, buffer, parser, ec);
  if (ec) {
    if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
        ec != asio::error::connection_reset && ec != asio::error::would_block &&
        ec != asio::error::timed_out && buffer.size() > 0) {
      Request bad;
      bad.method = "GET";
      auto res = error_response(ec == bhttp::error::header_limit ? 431 : 400,
                                "malformed HTTP request: " + ec.message());
      ResponseWriter(socket).write(bad, res, false);
    }
    return false;
  }
  auto start = std::chrono::steady_clock::now();
  const auto& msg = parser.get();
  bool keep_alive = msg.keep_alive();

  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  for (const auto& field : msg) req.headers.add(std::string(field.name_string()), std::string(field.value()));
  ParserBodyReader body(socket, buffer, parser);
  req.body = &body;

  Response res;
  if (!split_target(req.target, req)) {
    res = error_response(400, "malformed request target");
  } else {
    try {
      res = handler(req);
    } catch (const std::exception& e) {
      spdlog::error("handler {} {} threw: {}", req.method, req.path, e.what());
      res = Response::json(500, R"({"errors":[{"code":"UNKNOWN","message":"internal error"}]})");
    }
  }
  bool unread_body = !drain(body);
  if (unread_body) keep_alive = false;

  ResponseWriter writer(socket);
  bool ok = writer.write(req, res, keep_alive);
  if (ok && unread_body && !body.body_withheld()) linger(socket);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics.record(req.route_id, req.method, res.status, seconds, body.bytes(), writer.bytes());
  spdlog::debug("{} {} -> {} ({:.3f}s, in {} out {})", req.method, req.target, res.status, seconds,
                body.bytes(), writer.bytes());
  return ok && keep_alive;
}

void Server::Impl::serve(tcp::socket socket) {
  set_socket_options(socket);
  beast::flat_buffer buffer;
  while (!stopping.load() && serve_one(socket, buffer)) {
  }
  {
    std::lock_guard lock(connections_mutex);
    connection_fds.erase(socket.native_handle());
  }
  beast::error_code ec;
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

Server::Server(ServerOptions options, RequestHandler handler, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), metrics)) {}

Server::~Server() {
  stop();
  std::unique_lock lock(impl_->connections_mutex);
  impl_->connections_done.wait(lock, [this] { return impl_->connection_threads == 0; });
}

Result<void> Server::listen() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return fail("CONFIG", "invalid listen host: " + impl_->options.host);
  tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail("IO", "cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) +
                          ": " + ec.message());
  return {};
}

std::uint16_t Server::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void Server::run() {
  auto& impl = *impl_;
  while (!impl.stopping.load()) {
    tcp::socket socket(impl.ioc);
    beast::error_code ec;
    impl.acceptor.accept(socket, ec);
    if (ec) {
      if (impl.stopping.load()) break;
      if (ec == asio::error::no_descriptors) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    {
      std::lock_guard lock(impl.connections_mutex);
      if (impl.stopping.load() || impl.connection_fds.size() >= impl.options.max_connections) {
        Request req;
        req.method = "GET";
        auto res = error_response(503, impl.stopping.load() ? "server stopping" : "too many connections");
        ResponseWriter(socket).write(req, res, false);
        continue;
      }
      impl.connection_fds.insert(socket.native_handle());
      ++impl.connection_threads;
    }
    std::thread([&impl, s = std::move(socket)]() mutable {
      impl.serve(std::move(s));
      // The last touch of impl: ~Server may go on once no thread is left.
      std::lock_guard lock(impl.connections_mutex);
      --impl.connection_threads;
      impl.connections_done.notify_all();
    }).detach();
  }
}

void Server::stop() {
  if (impl_->stopping.exchange(true)) return;
  // Wakes the blocking accept() in run() and every connection's blocking read.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  std::lock_guard lock(impl_->connections_mutex);
  for (int fd : impl_->connection_fds) ::shutdown(fd, SHUT_RDWR);
}

Result<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail("CONFIG", "listen address must be host:port", std::string(text));
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, err] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (err != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    return fail("CONFIG", "invalid port in listen address", std::string(text));
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

}  // namespace strata::http
