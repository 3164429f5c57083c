// Build API client; see builds_client.h.
#include "cli/builds_client.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace strata::cli {

constexpr std::size_t kJsonBodyLimit = 16 * 1024 * 1024;

void add_service_flags(CLI::App& command, ServiceFlags& flags) {
  command.add_option("--server", flags.server, "build service URL, e.g. http://127.0.0.1:8080")
      ->envname("STRATA_SERVER")
      ->required();
  command.add_option("--api-key", flags.api_key, "API key (or API token) to authenticate with")
      ->envname("STRATA_API_KEY")
      ->required();
}

BuildsClient::BuildsClient(ServiceFlags flags) : flags_(std::move(flags)) {
  while (!flags_.server.empty() && flags_.server.back() == '/') flags_.server.pop_back();
}

http::ClientRequest BuildsClient::authorized(http::ClientRequest request) const {
  request.url = flags_.server + request.url;
  request.headers.set("Authorization", "Bearer " + flags_.api_key);
  return request;
}

Result<http::ClientResponse> BuildsClient::send(http::ClientRequest request, std::size_t body_limit) {
  return client_.request(authorized(std::move(request)), body_limit);
}

Result<http::ClientResponse> BuildsClient::send(http::ClientRequest request, const http::BodySink& sink) {
  return client_.request(authorized(std::move(request)), sink);
}

Result<nlohmann::json> BuildsClient::call(std::string_view method, std::string_view path) {
  http::ClientRequest request;
  request.method = std::string(method);
  request.url = std::string(path);
  request.headers.set("Accept", "application/json");
  auto response = send(std::move(request), kJsonBodyLimit);
  if (!response) return std::unexpected(response.error());
  if (response->status / 100 != 2) return std::unexpected(api_error(*response));
  auto doc = nlohmann::json::parse(response->body, nullptr, false);
  if (doc.is_discarded()) return fail("RESPONSE_INVALID", "the server answered with invalid JSON");
  return doc;
}

Error BuildsClient::api_error(const http::ClientResponse& response) {
  auto doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    const auto& error = doc["error"];
    return Error{error.value("code", "HTTP_" + std::to_string(response.status)),
                 error.value("message", "HTTP status " + std::to_string(response.status)), {}};
  }
  std::string message = "HTTP status " + std::to_string(response.status);
  if (!response.body.empty()) message += ": " + response.body.substr(0, 200);
  return Error{"HTTP_" + std::to_string(response.status), message, {}};
}

int report_failure(std::string_view command, const Error& error) {
  std::fprintf(stderr, "strata %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               error.message.c_str());
  return 1;
}

}  // namespace strata::cli
