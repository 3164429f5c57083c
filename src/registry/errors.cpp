// Mapping of distribution-spec error codes to HTTP statuses and error JSON.
#include "registry/errors.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <string>
#include <utility>

namespace strata::registry {

int status_for(std::string_view code) {
  static constexpr std::pair<std::string_view, int> kStatus[] = {
      {"BLOB_UNKNOWN", 404},         {"BLOB_UPLOAD_INVALID", 400}, {"BLOB_UPLOAD_UNKNOWN", 404},
      {"DIGEST_INVALID", 400},       {"MANIFEST_BLOB_UNKNOWN", 400}, {"MANIFEST_INVALID", 400},
      {"MANIFEST_UNKNOWN", 404},     {"NAME_INVALID", 400},        {"NAME_UNKNOWN", 404},
      {"SIZE_INVALID", 400},         {"TAG_INVALID", 400},         {"UNAUTHORIZED", 401},
      {"DENIED", 403},               {"UNSUPPORTED", 415},         {"TOOMANYREQUESTS", 429},
      {"RANGE_INVALID", 416},        {"MANIFEST_TOO_LARGE", 413},  {"TOO_LARGE", 413},
      {"PAGINATION_NUMBER_INVALID", 400},
  };
  for (auto [c, s] : kStatus)
    if (c == code) return s;
  return 500;
}

http::Response error_response(const Error& error, int status) {
  if (status == 0) status = status_for(error.code);
  // Codes outside the spec (IO, INTERNAL, ...) are reported as UNKNOWN and
  // logged; their text may name server paths, so it is not sent.
  bool internal = status >= 500;
  if (internal) spdlog::error("registry error {}: {} {}", error.code, error.message, error.detail);
  nlohmann::json entry = {{"code", internal ? std::string("UNKNOWN") : error.code},
                          {"message", internal ? std::string("internal error") : error.message}};
  if (!internal && !error.detail.empty())
    entry["detail"] = error.detail;
  else
    entry["detail"] = nullptr;
  nlohmann::json body = {{"errors", nlohmann::json::array({entry})}};
  auto response = http::Response::json(status, body.dump());
  response.headers.set("Docker-Distribution-API-Version", "registry/2.0");
  return response;
}

http::Response error_response(std::string_view code, std::string_view message, int status) {
  return error_response(Error{std::string(code), std::string(message), {}}, status);
}

}  // namespace strata::registry
