// Test helpers for auth's HTTP glue: in-memory requests (with a fake
// BodyReader), Basic credentials, and reading responses, so guards and
// handlers are called directly without a server.
#pragma once

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http/message.h"

namespace strata::auth::testing {

class StringBody : public http::BodyReader {
 public:
  explicit StringBody(std::string data = {}) : data_(std::move(data)) {}
  Result<std::size_t> read(char* buffer, std::size_t size) override {
    std::size_t n = std::min(size, data_.size() - offset_);
    data_.copy(buffer, n, offset_);
    offset_ += n;
    return n;
  }
  std::optional<std::uint64_t> content_length() const override { return data_.size(); }

 private:
  std::string data_;
  std::size_t offset_ = 0;
};

// A request as the dispatcher hands it to guards and handlers.
struct TestRequest {
  http::Request request;
  StringBody body;

  TestRequest(std::string method, std::string path, std::map<std::string, std::string> params = {},
              std::string body_text = {})
      : body(std::move(body_text)) {
    request.method = std::move(method);
    request.path = path;
    request.target = std::move(path);
    request.params = std::move(params);
    request.body = &body;
  }
  TestRequest(const TestRequest&) = delete;
  TestRequest& operator=(const TestRequest&) = delete;

  TestRequest& header(std::string name, std::string value) {
    request.headers.add(std::move(name), std::move(value));
    return *this;
  }
  TestRequest& query(std::string name, std::string value) {
    request.query.emplace(std::move(name), std::move(value));
    return *this;
  }
};

inline std::string basic(std::string_view user, std::string_view password) {
  std::string plain = std::string(user) + ":" + std::string(password);
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                          reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

inline std::string body_of(const http::Response& response) {
  const auto* text = std::get_if<std::string>(&response.body);
  return text ? *text : std::string();
}

inline std::string header_of(const http::Response& response, std::string_view name) {
  return std::string(response.headers.get(name).value_or(""));
}

}  // namespace strata::auth::testing
