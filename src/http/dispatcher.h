// Turns the route table into the server's RequestHandler: match the route,
// run the guards (name validation, authorization) in order, then the handler.
// A guard that returns a Response ends the request with it, so checks such as
// authorization live in one place and never in handler code.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "http/router.h"

namespace strata::http {

using Guard = std::function<std::optional<Response>(Request&, const Route&)>;

class Dispatcher {
 public:
  explicit Dispatcher(const Router& router) : router_(router) {}
  void add_guard(Guard guard) { guards_.push_back(std::move(guard)); }
  Response operator()(Request& request) const;

 private:
  const Router& router_;
  std::vector<Guard> guards_;
};

}  // namespace strata::http
