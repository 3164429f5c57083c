// The route table: decides which endpoint a request is, from method and path
// segments (no regex over the whole path), and records the action each route
// needs so authorization happens in one place before any handler runs.
//
// Patterns are '/'-separated. A segment "{x}" captures one segment; at most
// one "{x+}" captures one or more segments (used for repository names such as
// "cache/global/node"). Literal segments around "{x+}" anchor the match from
// both ends, so "/v2/{name+}/blobs/{digest}" matches "/v2/a/b/c/blobs/sha256:..".
// Captured values are not validated here; the layer that owns their grammar
// (the registry for names and digests) does that before any handler runs.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "http/message.h"

namespace strata::http {

// What a request does to the resource named by the route's "name" capture.
enum class Action { none, pull, push, del, catalog };
std::string_view to_string(Action action);

using Handler = std::function<Response(Request&)>;

// Which credentials a route takes; the authorization guard enforces it.
// Registry tokens and API credentials are never accepted in each other's place.
enum class Credentials { none, registry, api };

struct Route {
  std::string method;   // "GET", "HEAD", ...
  std::string pattern;  // see above
  std::string id;       // stable name used in metrics and logs, e.g. "blob_get"
  Action action = Action::none;
  Handler handler;
  Credentials credentials = Credentials::none;
};

struct RouteMatch {
  const Route* route = nullptr;  // null if no route matched
  std::map<std::string, std::string> params;
  bool method_not_allowed = false;  // path matched some route, method did not
};

class Router {
 public:
  void add(Route route);
  // Finds the route for method + decoded path. Routes are tried in the order
  // added; add more specific patterns first.
  RouteMatch match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace strata::http
