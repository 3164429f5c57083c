// Route dispatch with guards; see dispatcher.h.
#include "http/dispatcher.h"

namespace strata::http {

Response Dispatcher::operator()(Request& request) const {
  auto match = router_.match(request.method, request.path);
  if (!match.route) {
    if (match.method_not_allowed) {
      request.route_id = "method_not_allowed";
      return Response::text(405, "method not allowed\n");
    }
    return Response::text(404, "not found\n");
  }
  request.route_id = match.route->id;
  request.params = std::move(match.params);
  for (const auto& guard : guards_)
    if (auto stop = guard(request, *match.route)) return std::move(*stop);
  return match.route->handler(request);
}

}  // namespace strata::http
