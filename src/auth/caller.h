// Who the authorization guard found behind a request, kept in
// http::Request::principal so handlers and the registry's pull filter can ask
// without knowing tokens: a registry caller (the verified grants of a
// registry token, or the anonymous-pull grants) on registry routes, an API
// caller (the principal of an API key or API token) on API routes.
//
// Only these functions read or write Request::principal, so the stored type
// is always the one they agree on. The getters return null when the guard
// set nothing of that kind. The referenced data lives as long as the request.
#pragma once

#include <memory>
#include <string_view>
#include <optional>

#include "auth/principal.h"
#include "auth/token_service.h"
#include "http/message.h"

namespace strata::auth {

void set_registry_caller(http::Request& request, std::shared_ptr<const RegistryAccess> access);
void set_api_caller(http::Request& request, Principal principal);

const RegistryAccess* registry_caller(const http::Request& request);
const Principal* api_caller(const http::Request& request);

// Nothing when the API caller is the operator; otherwise the 403 to answer
// with ("only the operator may <what>"), after logging the denial.
std::optional<http::Response> require_operator(const http::Request& request, std::string_view what);

}  // namespace strata::auth
