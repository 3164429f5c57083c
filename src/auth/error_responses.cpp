#include "auth/error_responses.h"

#include <nlohmann/json.hpp>

#include "auth/strict_json.h"

namespace strata::auth {

using nlohmann::json;

http::Response registry_error(int status, std::string_view code, std::string_view message) {
  json entry = {{"code", code}, {"message", message}, {"detail", nullptr}};
  auto response = http::Response::json(status, dump_json({{"errors", json::array({entry})}}));
  response.headers.set("Docker-Distribution-API-Version", "registry/2.0");
  return response;
}

http::Response api_error(int status, std::string_view code, std::string_view message) {
  return http::Response::json(status, dump_json({{"error", {{"code", code}, {"message", message}}}}));
}

http::Response oauth_error(int status, std::string_view error, std::string_view description) {
  return http::Response::json(status, dump_json({{"error", error}, {"error_description", description}}));
}

}  // namespace strata::auth
