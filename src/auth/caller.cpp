#include "auth/caller.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "auth/error_responses.h"

namespace strata::auth {
namespace {

struct Caller {
  std::shared_ptr<const RegistryAccess> registry;
  std::optional<Principal> api;
};

const Caller* caller_of(const http::Request& request) {
  return static_cast<const Caller*>(request.principal.get());
}

}  // namespace

void set_registry_caller(http::Request& request, std::shared_ptr<const RegistryAccess> access) {
  request.principal = std::make_shared<const Caller>(Caller{std::move(access), std::nullopt});
}

void set_api_caller(http::Request& request, Principal principal) {
  request.principal = std::make_shared<const Caller>(Caller{nullptr, std::move(principal)});
}

const RegistryAccess* registry_caller(const http::Request& request) {
  const auto* caller = caller_of(request);
  return caller ? caller->registry.get() : nullptr;
}

const Principal* api_caller(const http::Request& request) {
  const auto* caller = caller_of(request);
  return caller && caller->api ? &*caller->api : nullptr;
}

std::optional<http::Response> require_operator(const http::Request& request, std::string_view what) {
  const auto* caller = api_caller(request);
  if (caller && caller->is_operator()) return std::nullopt;
  spdlog::warn("auth denied: reason=role subject={} route={} (operator only)", caller ? caller->subject() : "-",
               request.route_id);
  return api_error(403, "FORBIDDEN", "only the operator may " + std::string(what));
}

}  // namespace strata::auth
