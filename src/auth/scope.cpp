#include "auth/scope.h"

#include <algorithm>

namespace strata::auth {
namespace {

constexpr std::size_t kMaxNameLength = 255;

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool any_alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

std::unexpected<Error> invalid(std::string_view scope, std::string why) {
  return fail("SCOPE_INVALID", "invalid scope \"" + std::string(scope) + "\": " + why);
}

// True iff every `separator`-delimited part of `s` satisfies `ok` (an empty
// part is passed to `ok` too, so "a//b" can be refused).
template <class Predicate>
bool every_part(std::string_view s, char separator, Predicate ok) {
  for (std::size_t start = 0;;) {
    auto end = s.find(separator, start);
    if (!ok(s.substr(start, end - start))) return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

// resourcetypevalue := [a-z0-9]+
bool type_value(std::string_view s) { return !s.empty() && std::ranges::all_of(s, lower_alnum); }

// hostcomponent := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool host_component(std::string_view s) {
  return !s.empty() && any_alnum(s.front()) && any_alnum(s.back()) &&
         std::ranges::all_of(s, [](char c) { return any_alnum(c) || c == '-'; });
}

// hostname := hostcomponent ['.' hostcomponent]* [':' port-number]
bool hostname(std::string_view s) {
  if (auto colon = s.find(':'); colon != std::string_view::npos) {
    auto port = s.substr(colon + 1);
    if (port.empty() || !std::ranges::all_of(port, [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    s = s.substr(0, colon);
  }
  return every_part(s, '.', host_component);
}

// component := alpha-numeric [separator alpha-numeric]*, separator := [_.] | __ | [-]*
// '*' counts as alpha-numeric so patterns pass.
bool path_component(std::string_view s) {
  auto alnum = [](char c) { return lower_alnum(c) || c == '*'; };
  std::size_t i = 0;
  while (i < s.size()) {
    if (!alnum(s[i])) return false;
    while (i < s.size() && alnum(s[i])) ++i;
    if (i == s.size()) return true;
    std::size_t sep = i;
    while (i < s.size() && !alnum(s[i])) ++i;
    auto separator = s.substr(sep, i - sep);
    bool ok = separator == "_" || separator == "." || separator == "__" ||
              std::ranges::all_of(separator, [](char c) { return c == '-'; });
    if (!ok || i == s.size()) return false;
  }
  return !s.empty();
}

// resourcename := [hostname '/'] component ['/' component]*
bool resource_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  auto slash = s.find('/');
  if (slash != std::string_view::npos) {
    auto first = s.substr(0, slash);
    bool host_like = first.find_first_of(".:") != std::string_view::npos || first == "localhost";
    if (host_like) {
      if (!hostname(first)) return false;
      s = s.substr(slash + 1);
    }
  }
  return every_part(s, '/', path_component);
}

// action := [a-z]+ | "*"
bool action(std::string_view s) {
  return s == "*" || (!s.empty() && std::ranges::all_of(s, [](char c) { return c >= 'a' && c <= 'z'; }));
}

}  // namespace

std::string Scope::str() const {
  std::string out = type + ":" + name + ":";
  for (std::size_t i = 0; i < actions.size(); ++i) out += (i ? "," : "") + actions[i];
  return out;
}

Result<Scope> parse_scope(std::string_view text) {
  auto first = text.find(':');
  auto last = text.rfind(':');
  if (first == std::string_view::npos || first == last)
    return invalid(text, "expected type:name:actions");
  Scope scope;
  auto type = text.substr(0, first);
  if (auto open = type.find('('); open != std::string_view::npos) {
    if (type.back() != ')' || !type_value(type.substr(open + 1, type.size() - open - 2)))
      return invalid(text, "resource class must be (lowercase alphanumerics)");
    type = type.substr(0, open);
  }
  if (!type_value(type)) return invalid(text, "resource type must be lowercase alphanumerics");
  scope.type = type;

  auto name = text.substr(first + 1, last - first - 1);
  if (!resource_name(name)) return invalid(text, "resource name is not a valid repository name");
  scope.name = name;

  auto actions = text.substr(last + 1);
  bool valid = every_part(actions, ',', [&](std::string_view a) {
    scope.actions.emplace_back(a);
    return action(a);
  });
  if (!valid) return invalid(text, "actions must be a comma-separated list of lowercase words or *");
  return scope;
}

Result<std::vector<Scope>> parse_scopes(std::span<const std::string> params) {
  std::vector<Scope> scopes;
  for (std::string_view param : params) {
    for (std::size_t start = 0; start <= param.size();) {
      auto space = param.find(' ', start);
      auto item = param.substr(start, space - start);
      // Tolerate the doubled or trailing spaces form encoders produce.
      if (!item.empty()) {
        auto scope = parse_scope(item);
        if (!scope) return std::unexpected(scope.error());
        scopes.push_back(std::move(*scope));
      }
      if (space == std::string_view::npos) break;
      start = space + 1;
    }
  }
  return scopes;
}

}  // namespace strata::auth
