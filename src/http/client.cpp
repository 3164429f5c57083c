// libcurl easy-interface implementation of http::Client. The easy handle is
// kept between requests (curl_easy_reset keeps its connection cache), and all
// per-request state lives in a Transfer that curl's callbacks write into.
#include "common/text.h"
#include "http/client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace strata::http {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}


bool is_success(int status) { return status >= 200 && status < 300; }

// State of one request, shared with curl's callbacks through their userdata.
struct Transfer {
  // Request body: either the rest of an in-memory body or a source.
  std::string_view pending;
  const StreamedBody* stream = nullptr;

  // Response: a sink takes 2xx bodies; everything else is buffered.
  const BodySink* sink = nullptr;
  std::size_t body_limit = 0;
  ClientResponse response;

  // Why a callback aborted the transfer (source/sink error, size limit).
  std::optional<Error> failure;

  // The connect check, when the client has one, and its last refusal (reset
  // when an address is allowed: only a refusal that ended the attempts is
  // reported).
  CURL* easy = nullptr;
  const ConnectCheck* connect_check = nullptr;
  std::optional<Error> refusal;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new response begins (after 100 Continue or a followed redirect): only
    // the last one's status, headers and body are reported.
    auto space = line.find(' ');
    int status = 0;
    if (space != std::string_view::npos)
      for (auto c : line.substr(space + 1, 3)) status = status * 10 + (c - '0');
    transfer.response.status = status;
    transfer.response.headers = Headers{};
    transfer.response.body.clear();
    return line.size();
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos)
    transfer.response.headers.add(std::string(trim(line.substr(0, colon))),
                                  std::string(trim(line.substr(colon + 1))));
  return line.size();
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  std::string_view chunk(data, size * count);
  if (transfer.sink && is_success(transfer.response.status)) {
    if (auto written = (*transfer.sink)(chunk); !written) {
      transfer.failure = written.error();
      return 0;
    }
    return chunk.size();
  }
  auto& body = transfer.response.body;
  if (body.size() + chunk.size() > transfer.body_limit) {
    if (transfer.sink) {
      // An error document is only read for its message: keep its beginning.
      body.append(chunk.substr(0, transfer.body_limit - body.size()));
      return chunk.size();
    }
    transfer.failure = Error{"TOO_LARGE",
                             "response body is larger than " + std::to_string(transfer.body_limit) + " bytes", {}};
    return 0;
  }
  body.append(chunk);
  return chunk.size();
}

std::size_t on_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  std::size_t capacity = size * count;
  if (!transfer.stream) {
    std::size_t n = std::min(capacity, transfer.pending.size());
    std::memcpy(buffer, transfer.pending.data(), n);
    transfer.pending.remove_prefix(n);
    return n;
  }
  auto n = transfer.stream->read(buffer, capacity);
  if (!n) {
    transfer.failure = n.error();
    return CURL_READFUNC_ABORT;
  }
  return *n;
}

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

// Host (without IPv6 brackets) and port (the scheme's default when the URL
// names none) of the URL curl is about to connect for.
bool url_host_port(CURL* easy, ConnectTarget& target) {
  char* effective = nullptr;
  curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective);
  std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  if (!effective || !url || curl_url_set(url.get(), CURLUPART_URL, effective, 0) != CURLUE_OK) return false;
  char* host = nullptr;
  char* port = nullptr;
  bool ok = curl_url_get(url.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(url.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
  if (ok) {
    std::string_view name = host;
    if (name.starts_with('[') && name.ends_with(']')) name = name.substr(1, name.size() - 2);
    target.host = std::string(name);
    target.port = static_cast<std::uint16_t>(std::atoi(port));
  }
  curl_free(host);
  curl_free(port);
  return ok;
}

// CURLOPT_OPENSOCKETFUNCTION: asks the connect check before every socket.
curl_socket_t on_open_socket(void* user, curlsocktype, curl_sockaddr* address) {
  auto& transfer = *static_cast<Transfer*>(user);
  ConnectTarget target;
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = nullptr;
  if (address->family == AF_INET) raw = &reinterpret_cast<const sockaddr_in*>(&address->addr)->sin_addr;
  if (address->family == AF_INET6) raw = &reinterpret_cast<const sockaddr_in6*>(&address->addr)->sin6_addr;
  if (!raw || !inet_ntop(address->family, raw, text, sizeof text) || !url_host_port(transfer.easy, target)) {
    transfer.refusal = Error{"CONNECTION", "connection refused by the client's connect check", {}};
    return CURL_SOCKET_BAD;
  }
  target.address = text;
  if (auto allowed = (*transfer.connect_check)(target); !allowed) {
    transfer.refusal = allowed.error();
    return CURL_SOCKET_BAD;
  }
  transfer.refusal.reset();
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

Error transport_error(CURLcode code, const char* detail, const std::string& url) {
  std::string message = std::string(curl_easy_strerror(code));
  if (detail && *detail) message += ": " + std::string(detail);
  message = url + ": " + message;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Error{"TIMEOUT", std::move(message), {}};
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return Error{"TLS", std::move(message), {}};
    default:
      return Error{"CONNECTION", std::move(message), {}};
  }
}

// curl_slist owner.
struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

}  // namespace

struct Client::Impl {
  ClientOptions options;
  CURL* easy = nullptr;

  Result<ClientResponse> perform(const ClientRequest& request, Transfer& transfer);
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  global_init_once();
  impl_->options = std::move(options);
  impl_->easy = curl_easy_init();
}

Client::~Client() {
  if (impl_->easy) curl_easy_cleanup(impl_->easy);
}

Result<ClientResponse> Client::request(const ClientRequest& request, std::size_t body_limit) {
  Transfer transfer;
  transfer.body_limit = body_limit;
  return impl_->perform(request, transfer);
}

Result<ClientResponse> Client::request(const ClientRequest& request, const BodySink& sink) {
  Transfer transfer;
  transfer.sink = &sink;
  transfer.body_limit = kMaxErrorBody;
  return impl_->perform(request, transfer);
}

Result<ClientResponse> Client::Impl::perform(const ClientRequest& request, Transfer& transfer) {
  if (!easy) return fail("CONNECTION", "libcurl could not create a handle");
  CURL* h = easy;
  curl_easy_reset(h);
  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall_timeout.count()));
  if (request.timeout.count() > 0)
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  if (request.follow_redirects) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  }
  if (request.insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  if (options.connect_check) {
    transfer.easy = h;
    transfer.connect_check = &options.connect_check;
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
  }

  HeaderList headers;
  for (const auto& [name, value] : request.headers.entries())
    headers.add(value.empty() ? name + ";" : name + ": " + value);
  // Bodies are sent at once: waiting for 100 Continue only adds a round trip.
  headers.add("Expect:");

  const auto& method = request.method;
  bool has_body = !std::holds_alternative<std::monostate>(request.body) ||
                  method == "POST" || method == "PUT" || method == "PATCH";
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method == "GET" && !has_body) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (has_body) {
    std::optional<std::uint64_t> length = 0;
    if (auto* text = std::get_if<std::string>(&request.body)) {
      transfer.pending = *text;
      length = text->size();
    } else if (auto* stream = std::get_if<StreamedBody>(&request.body)) {
      transfer.stream = stream;
      length = stream->length;
    }
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(h, CURLOPT_READDATA, &transfer);
    if (length)
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(*length));
    else
      headers.add("Transfer-Encoding: chunked");
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.list);

  CURLcode code = curl_easy_perform(h);
  if (transfer.failure) return std::unexpected(std::move(*transfer.failure));
  if (code != CURLE_OK && transfer.refusal) return std::unexpected(std::move(*transfer.refusal));
  if (code != CURLE_OK) return std::unexpected(transport_error(code, error_buffer, request.url));

  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  transfer.response.status = static_cast<int>(status);
  char* effective = nullptr;
  curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective);
  transfer.response.url = effective ? effective : request.url;
  return std::move(transfer.response);
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace strata::http
