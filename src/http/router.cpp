// Segment-wise route matching; see router.h for the pattern language.
#include "http/router.h"

#include <ranges>

namespace strata::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  for (auto part : std::views::split(path, '/')) out.emplace_back(part.begin(), part.end());
  return out;
}

bool is_capture(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }
bool is_multi(std::string_view seg) { return is_capture(seg) && seg[seg.size() - 2] == '+'; }
std::string capture_name(std::string_view seg) {
  seg = seg.substr(1, seg.size() - 2);
  if (!seg.empty() && seg.back() == '+') seg.remove_suffix(1);
  return std::string(seg);
}

bool match_one(std::string_view pat, std::string_view seg, std::map<std::string, std::string>& params) {
  if (is_capture(pat)) {
    if (seg.empty()) return false;
    params[capture_name(pat)] = std::string(seg);
    return true;
  }
  return pat == seg;
}

// Matches path segments against pattern segments, anchoring literals from
// both ends around the single multi-segment capture.
bool match_pattern(std::string_view pattern, std::string_view path,
                   std::map<std::string, std::string>& params) {
  auto pat = split_path(pattern);
  auto segs = split_path(path);
  auto multi = std::ranges::find_if(pat, is_multi);
  if (multi == pat.end()) {
    if (pat.size() != segs.size()) return false;
    for (std::size_t i = 0; i < pat.size(); ++i)
      if (!match_one(pat[i], segs[i], params)) return false;
    return true;
  }
  std::size_t head = static_cast<std::size_t>(multi - pat.begin());
  std::size_t tail = pat.size() - head - 1;
  if (segs.size() < head + tail + 1) return false;
  for (std::size_t i = 0; i < head; ++i)
    if (!match_one(pat[i], segs[i], params)) return false;
  for (std::size_t i = 0; i < tail; ++i)
    if (!match_one(pat[pat.size() - 1 - i], segs[segs.size() - 1 - i], params)) return false;
  std::string joined;
  for (std::size_t i = head; i < segs.size() - tail; ++i) {
    if (segs[i].empty()) return false;
    if (!joined.empty()) joined += '/';
    joined += segs[i];
  }
  params[capture_name(*multi)] = std::move(joined);
  return true;
}

}  // namespace

std::string_view to_string(Action action) {
  switch (action) {
    case Action::none: return "none";
    case Action::pull: return "pull";
    case Action::push: return "push";
    case Action::del: return "delete";
    case Action::catalog: return "catalog";
  }
  return "none";
}

void Router::add(Route route) { routes_.push_back(std::move(route)); }

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  RouteMatch result;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> params;
    if (!match_pattern(route.pattern, path, params)) continue;
    if (route.method != method) {
      result.method_not_allowed = true;
      continue;
    }
    result.route = &route;
    result.params = std::move(params);
    result.method_not_allowed = false;
    return result;
  }
  return result;
}

}  // namespace strata::http
