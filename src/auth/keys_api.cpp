#include "auth/keys_api.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "auth/caller.h"
#include "auth/error_responses.h"
#include "common/rfc3339.h"
#include "auth/strict_json.h"

namespace strata::auth {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBodyBytes = 16 * 1024;

json tenant_json(const std::string& tenant) { return tenant.empty() ? json(nullptr) : json(tenant); }

http::Response error_for(const Error& error) {
  int status = error.code == "KEY_UNKNOWN"                                     ? 404
               : error.code == "ROLE_INVALID" || error.code == "TENANT_INVALID" ? 400
                                                                                : 500;
  if (status == 500) {
    spdlog::error("keys API: {}: {}", error.code, error.message);
    return api_error(500, "INTERNAL", "internal error");
  }
  return api_error(status, error.code, error.message);
}

http::Response create_key(const AuthService& auth, http::Request& request) {
  if (auto refused = require_operator(request, "manage API keys")) return std::move(*refused);
  auto body = http::read_all(*request.body, kMaxBodyBytes);
  if (!body) return api_error(400, "BAD_REQUEST", body.error().message);
  auto object = parse_json_object(*body);
  if (!object) return api_error(400, "BAD_REQUEST", "the body must be a JSON object");
  auto role_member = object->find("role");
  if (role_member == object->end() || !role_member->is_string())
    return api_error(400, "ROLE_INVALID", "\"role\" must be \"operator\" or \"tenant\"");
  auto role = parse_role(role_member->get<std::string>());
  if (!role) return error_for(role.error());
  std::string tenant;
  if (auto t = object->find("tenant"); t != object->end() && !t->is_null()) {
    if (!t->is_string()) return api_error(400, "TENANT_INVALID", "\"tenant\" must be a string");
    tenant = t->get<std::string>();
  }
  auto key = auth.api_keys().create(*role, tenant);
  if (!key) return error_for(key.error());
  spdlog::info("API key created: id={} role={} tenant={} by={}", key->info.id, role_name(*role),
               tenant.empty() ? "-" : tenant, api_caller(request)->subject());
  json answer = {{"id", key->info.id},
                 {"key", key->secret},
                 {"role", role_name(*role)},
                 {"tenant", tenant_json(key->info.tenant)}};
  return http::Response::json(201, dump_json(answer));
}

http::Response list_keys(const AuthService& auth, http::Request& request) {
  if (auto refused = require_operator(request, "manage API keys")) return std::move(*refused);
  auto keys = auth.api_keys().list();
  if (!keys) return error_for(keys.error());
  json list = json::array();
  for (const auto& key : *keys)
    list.push_back({{"id", key.id},
                    {"role", role_name(key.role)},
                    {"tenant", tenant_json(key.tenant)},
                    {"created_at", rfc3339(key.created_at)},
                    {"revoked", key.revoked_at.has_value()}});
  return http::Response::json(200, dump_json({{"keys", std::move(list)}}));
}

http::Response revoke_key(const AuthService& auth, http::Request& request) {
  if (auto refused = require_operator(request, "manage API keys")) return std::move(*refused);
  const auto& id = request.param("id");
  if (auto ok = auth.api_keys().revoke(id); !ok) return error_for(ok.error());
  spdlog::info("API key revoked: id={} by={}", id, api_caller(request)->subject());
  return http::Response::empty(204);
}

}  // namespace

void add_key_routes(http::Router& router, const AuthService& auth) {
  using Fn = http::Response (*)(const AuthService&, http::Request&);
  struct Entry {
    const char* method;
    const char* pattern;
    const char* id;
    Fn handler;
  };
  static constexpr Entry kRoutes[] = {
      {"POST", "/keys", "keys_create", create_key},
      {"GET", "/keys", "keys_list", list_keys},
      {"DELETE", "/keys/{id}", "keys_revoke", revoke_key},
  };
  for (const auto& e : kRoutes)
    router.add({e.method, e.pattern, e.id, http::Action::none,
                [&auth, fn = e.handler](http::Request& request) { return fn(auth, request); },
                http::Credentials::api});
}

}  // namespace strata::auth
