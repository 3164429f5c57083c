// http::Client against the project's own server on a free 127.0.0.1 port.
#include "http/client.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include "common/unique_fd.h"

#include "http/server.h"

namespace strata::http {
namespace {

// Echo server: /echo answers with method, Content-Length presence and body;
// /redirect sends 307 to /echo, /redirect-to-localhost to /echo on
// localhost; /missing is a 404 with a JSON error. One
// lives for the whole test program: http::Server's detached connection
// threads may still touch it after stop().
class EchoServer {
 public:
  static const EchoServer& instance() {
    static auto* server = new EchoServer();
    return *server;
  }
  std::string url(std::string_view path) const { return url_ + std::string(path); }

 private:
  EchoServer() : server_({"127.0.0.1", 0}, [](Request& r) { return handle(r); }, metrics_) {
    EXPECT_TRUE(server_.listen());
    url_ = "http://127.0.0.1:" + std::to_string(server_.port());
    std::thread([this] { server_.run(); }).detach();
  }

  static Response handle(Request& request) {
    if (request.path == "/redirect") {
      auto response = Response::empty(307);
      response.headers.set("Location", "/echo");
      return response;
    }
    if (request.path == "/redirect-to-localhost") {
      // The same server under another host name.
      std::string host(request.headers.get("Host").value_or(""));
      auto response = Response::empty(307);
      response.headers.set("Location", "http://localhost" + host.substr(host.rfind(':')) + "/echo");
      return response;
    }
    if (request.path == "/missing") return Response::json(404, R"({"errors":[{"code":"BLOB_UNKNOWN"}]})");
    auto body = read_all(*request.body, 1 << 24);
    auto response = Response::text(200, request.method + " " + (body ? *body : "<error>"));
    response.headers.set("X-Had-Length", request.headers.has("Content-Length") ? "yes" : "no");
    response.headers.set("X-Authorization", std::string(request.headers.get("Authorization").value_or("")));
    return response;
  }

  Metrics metrics_;
  Server server_;
  std::string url_;
};

ClientRequest make(std::string method, std::string url) {
  ClientRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  return request;
}

// One request on a fresh client, buffering up to `limit` bytes.
Result<ClientResponse> send(const ClientRequest& request, std::size_t limit = 1024) {
  Client client;
  return client.request(request, limit);
}

TEST(HttpClient, StringBodyIsSentAndResponseBuffered) {
  const auto& server = EchoServer::instance();
  auto request = make("PUT", server.url("/echo"));
  request.body = std::string("hello");
  auto response = send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "PUT hello");
  EXPECT_EQ(response->headers.get("X-Had-Length"), "yes");
}

TEST(HttpClient, StreamedBodyOfUnknownLengthIsSentChunked) {
  const auto& server = EchoServer::instance();
  auto request = make("POST", server.url("/echo"));
  int pieces = 0;
  request.body = StreamedBody{[&](char* buffer, std::size_t) -> Result<std::size_t> {
                                if (pieces == 3) return 0;
                                buffer[0] = static_cast<char>('a' + pieces++);
                                return 1;
                              },
                              std::nullopt};
  auto response = send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "POST abc");
  EXPECT_EQ(response->headers.get("X-Had-Length"), "no");
}

TEST(HttpClient, SourceErrorAbortsTheRequestWithItsCode) {
  const auto& server = EchoServer::instance();
  auto request = make("PUT", server.url("/echo"));
  request.body = StreamedBody{[](char*, std::size_t) -> Result<std::size_t> { return fail("IO", "disk gone"); }, 10};
  auto response = send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, "IO");
}

TEST(HttpClient, PostWithoutBodySendsZeroContentLength) {
  const auto& server = EchoServer::instance();
  auto response = send(make("POST", server.url("/echo")));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "POST ");
  EXPECT_EQ(response->headers.get("X-Had-Length"), "yes");
}

TEST(HttpClient, BodyOverTheLimitFailsTooLarge) {
  const auto& server = EchoServer::instance();
  auto request = make("PUT", server.url("/echo"));
  request.body = std::string(5000, 'x');
  auto response = send(request, 100);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, "TOO_LARGE");
}

TEST(HttpClient, SinkSeesSuccessBodiesButNotErrorDocuments) {
  const auto& server = EchoServer::instance();
  Client client;
  std::string streamed;
  BodySink sink = [&](std::string_view chunk) -> Result<void> {
    streamed.append(chunk);
    return {};
  };
  auto ok = client.request(make("GET", server.url("/echo")), sink);
  ASSERT_TRUE(ok);
  EXPECT_EQ(streamed, "GET ");
  EXPECT_TRUE(ok->body.empty());

  streamed.clear();
  auto missing = client.request(make("GET", server.url("/missing")), sink);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(streamed.empty());
  EXPECT_NE(missing->body.find("BLOB_UNKNOWN"), std::string::npos);
}

TEST(HttpClient, RedirectsAreFollowedOnlyWhenAsked) {
  const auto& server = EchoServer::instance();
  Client client;
  auto request = make("GET", server.url("/redirect"));
  request.headers.set("Authorization", "Bearer t");
  auto plain = client.request(request, 1024);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 307);
  EXPECT_EQ(plain->headers.get("Location"), "/echo");

  request.follow_redirects = true;
  auto followed = client.request(request, 1024);
  ASSERT_TRUE(followed);
  EXPECT_EQ(followed->status, 200);
  EXPECT_EQ(followed->url, server.url("/echo"));
  // Same host: the credentials still apply.
  EXPECT_EQ(followed->headers.get("X-Authorization"), "Bearer t");
}

TEST(HttpClient, OneClientServesConsecutiveRequests) {
  const auto& server = EchoServer::instance();
  Client client;
  for (int i = 0; i < 20; ++i) {
    auto response = client.request(make("GET", server.url("/echo")), 1024);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
}

TEST(HttpClient, RefusedConnectionIsAConnectionError) {
  // Port 1 (tcpmux) has no listener on any machine this runs on.
  auto response = send(make("GET", "http://127.0.0.1:1/"));
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, "CONNECTION");
}

// A listening socket on 127.0.0.1 that only counts the connections made to it.
class Listener {
 public:
  Listener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd_.get(), 16), 0);
    EXPECT_EQ(::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
  }
  std::uint16_t port() const { return port_; }
  int accepted() const {
    int count = 0;
    while (UniqueFd(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC))) ++count;
    return count;
  }

 private:
  UniqueFd fd_;
  std::uint16_t port_ = 0;
};

TEST(HttpClient, ConnectCheckSeesHostPortAndResolvedAddress) {
  const auto& server = EchoServer::instance();
  std::vector<ConnectTarget> seen;
  Client client({.connect_check = [&](const ConnectTarget& target) -> Result<void> {
    seen.push_back(target);
    return {};
  }});
  auto response = client.request(make("GET", server.url("/echo")), 1024);
  ASSERT_TRUE(response) << response.error().message;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].host, "127.0.0.1");
  EXPECT_EQ(std::to_string(seen[0].port), server.url("").substr(server.url("").rfind(':') + 1));
  EXPECT_EQ(seen[0].address, "127.0.0.1");
}

TEST(HttpClient, RefusedConnectMakesNoConnectionAndReturnsTheRefusal) {
  Listener listener;
  Client client({.connect_check = [](const ConnectTarget& target) -> Result<void> {
    return fail("REGISTRY_NOT_ALLOWED", "registry not allowed: " + target.host);
  }});
  auto response = client.request(make("GET", "http://127.0.0.1:" + std::to_string(listener.port()) + "/v2/"), 1024);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, "REGISTRY_NOT_ALLOWED");
  EXPECT_EQ(response.error().message, "registry not allowed: 127.0.0.1");
  EXPECT_EQ(listener.accepted(), 0);
}

TEST(HttpClient, RedirectTargetIsCheckedUnderItsOwnHostName) {
  const auto& server = EchoServer::instance();
  std::vector<std::string> hosts;
  Client client({.connect_check = [&](const ConnectTarget& target) -> Result<void> {
    hosts.push_back(target.host);
    if (target.host == "localhost") return fail("REGISTRY_NOT_ALLOWED", "registry not allowed: localhost");
    return {};
  }});
  auto request = make("GET", server.url("/redirect-to-localhost"));
  request.follow_redirects = true;
  auto response = client.request(request, 1024);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, "REGISTRY_NOT_ALLOWED");
  ASSERT_GE(hosts.size(), 2u);
  EXPECT_EQ(hosts.front(), "127.0.0.1");
  EXPECT_EQ(hosts.back(), "localhost");
}

TEST(HttpClient, PercentEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
  EXPECT_EQ(percent_encode("A-z_0.9~"), "A-z_0.9~");
  EXPECT_EQ(percent_encode("a b"), "a%20b");
}

}  // namespace
}  // namespace strata::http
