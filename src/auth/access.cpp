#include "auth/access.h"

#include <algorithm>
#include <array>
#include <optional>

#include "auth/strict_json.h"

namespace strata::auth {
namespace {

using nlohmann::json;

constexpr std::string_view kCatalog = "catalog";

std::optional<ActionSet> known_action(std::string_view name) {
  if (name == "pull") return Action::pull;
  if (name == "push") return Action::push;
  if (name == "delete") return Action::delete_;
  if (name == "*") return ActionSet::all();
  return std::nullopt;
}

std::optional<ResourceType> known_type(std::string_view type) {
  if (type == "repository") return ResourceType::repository;
  if (type == "registry") return ResourceType::registry;
  return std::nullopt;
}

// A pattern a grant may carry: printable, no runs of three or more '*'.
bool valid_pattern(std::string_view p) {
  return !p.empty() && p.size() <= 255 && p.find("***") == std::string_view::npos &&
         std::ranges::all_of(p, [](char c) { return c > ' ' && c < 0x7f; });
}

std::unexpected<Error> claims_error(std::string message) {
  return fail("TOKEN_CLAIMS", std::move(message));
}

// The union of the known actions among `names` (unknown ones grant nothing).
ActionSet known_actions(std::span<const std::string> names) {
  ActionSet set;
  for (const auto& n : names)
    if (auto a = known_action(n)) set = set | *a;
  return set;
}

Result<std::string> string_member(const json& object, const char* member, const char* where) {
  auto it = object.find(member);
  if (it == object.end() || !it->is_string())
    return claims_error(std::string(where) + " needs a string \"" + member + "\"");
  return it->get<std::string>();
}

// "push" or "pull,push" in the older claim shapes.
std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t start = 0;;) {
    auto comma = s.find(',', start);
    out.emplace_back(s.substr(start, comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

Result<void> add_checked(GrantSet& set, ResourceType type, std::string name, ActionSet actions) {
  if (!valid_pattern(name)) return claims_error("invalid repository name or pattern \"" + name + "\"");
  if (!actions.empty()) set.add(AccessGrant{type, std::move(name), actions});
  return {};
}

Result<void> add_docker_access(GrantSet& set, const json& access) {
  if (!access.is_array()) return claims_error("claim access must be an array");
  for (const auto& entry : access) {
    if (!entry.is_object()) return claims_error("access entries must be objects");
    auto type = string_member(entry, "type", "access entry");
    if (!type) return std::unexpected(type.error());
    auto name = string_member(entry, "name", "access entry");
    if (!name) return std::unexpected(name.error());
    auto actions = entry.find("actions");
    if (actions == entry.end() || !actions->is_array() ||
        !std::ranges::all_of(*actions, [](const json& a) { return a.is_string(); }))
      return claims_error("access entry needs an array of strings \"actions\"");
    auto resource = known_type(*type);
    if (!resource) continue;
    auto names = actions->get<std::vector<std::string>>();
    if (auto ok = add_checked(set, *resource, std::move(*name), known_actions(names)); !ok) return ok;
  }
  return {};
}

Result<void> add_repos_with_scope(GrantSet& set, const json& payload) {
  const auto& repos = payload.at("repos");
  if (!repos.is_array()) return claims_error("claim repos must be an array of strings");
  auto scope = string_member(payload, "scope", "claim repos");
  if (!scope) return std::unexpected(scope.error());
  auto actions = known_actions(split_commas(*scope));
  for (const auto& repo : repos) {
    if (!repo.is_string()) return claims_error("claim repos must be an array of strings");
    if (auto ok = add_checked(set, ResourceType::repository, repo.get<std::string>(), actions); !ok)
      return ok;
  }
  return {};
}

Result<void> add_repo_access(GrantSet& set, const json& list) {
  if (!list.is_array()) return claims_error("claim repo_access must be an array");
  for (const auto& entry : list) {
    if (!entry.is_object()) return claims_error("repo_access entries must be objects");
    auto repo = string_member(entry, "repo", "repo_access entry");
    if (!repo) return std::unexpected(repo.error());
    auto scope = string_member(entry, "scope", "repo_access entry");
    if (!scope) return std::unexpected(scope.error());
    auto ok = add_checked(set, ResourceType::repository, std::move(*repo), known_actions(split_commas(*scope)));
    if (!ok) return ok;
  }
  return {};
}

bool is_catalog(const AccessGrant& g) {
  return g.type == ResourceType::registry && g.name == kCatalog && g.actions == ActionSet::all();
}

}  // namespace

Result<ActionSet> ActionSet::parse(std::string_view name) {
  if (auto a = known_action(name)) return *a;
  return fail("ACTION_UNKNOWN", "unknown action \"" + std::string(name) + "\" (use pull, push, delete or *)");
}

std::vector<std::string> ActionSet::names() const {
  std::vector<std::string> out;
  if (contains(Action::pull)) out.emplace_back("pull");
  if (contains(Action::push)) out.emplace_back("push");
  if (contains(Action::delete_)) out.emplace_back("delete");
  return out;
}

namespace {

// Matches `pattern` against `name` by dynamic programming over name
// positions (linear in |pattern| * |name|, no backtracking blow-up).
bool match_wildcards(std::string_view pattern, std::string_view name) {
  // matched[j]: the pattern consumed so far matches name[0, j). Repository
  // names are at most 255 bytes, so the rows fit on the stack.
  constexpr std::size_t kStackRow = 256;
  std::array<char, kStackRow + 1> row_a{}, row_b{};
  std::vector<char> heap_a, heap_b;
  char* matched = row_a.data();
  char* next = row_b.data();
  if (name.size() > kStackRow) {
    heap_a.assign(name.size() + 1, 0);
    heap_b.assign(name.size() + 1, 0);
    matched = heap_a.data();
    next = heap_b.data();
  }
  matched[0] = 1;
  for (std::size_t p = 0; p < pattern.size(); ++p) {
    if (pattern[p] == '*') {
      bool across = p + 1 < pattern.size() && pattern[p + 1] == '*';
      if (across) ++p;
      // A star extends any match reached so far; `*` stops at '/'.
      char run = 0;
      for (std::size_t j = 0; j <= name.size(); ++j) {
        bool continues = run && (across || name[j - 1] != '/');
        run = matched[j] || continues;
        next[j] = run;
      }
    } else {
      next[0] = 0;
      for (std::size_t j = 0; j < name.size(); ++j) next[j + 1] = matched[j] && name[j] == pattern[p];
    }
    std::swap(matched, next);
  }
  return matched[name.size()];
}

}  // namespace

bool name_matches(std::string_view pattern, std::string_view name) {
  // Fast paths for the shapes grants have: an exact name, or a literal
  // prefix followed by "**" ("acme/**", "**"). This runs on every request.
  auto star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == name;
  if (!name.starts_with(pattern.substr(0, star))) return false;
  if (pattern.substr(star) == "**") return true;
  return match_wildcards(pattern.substr(star), name.substr(star));
}

GrantSet GrantSet::everything() {
  GrantSet set;
  set.add({ResourceType::repository, "**", ActionSet::all()});
  set.add({ResourceType::registry, std::string(kCatalog), ActionSet::all()});
  return set;
}

void GrantSet::add(AccessGrant grant) {
  auto same = std::ranges::find_if(grants_, [&](const AccessGrant& g) {
    return g.type == grant.type && g.name == grant.name;
  });
  if (same != grants_.end())
    same->actions = same->actions | grant.actions;
  else
    grants_.push_back(std::move(grant));
}

ActionSet GrantSet::actions_for(std::string_view repository) const {
  ActionSet out;
  for (const auto& g : grants_)
    if (g.type == ResourceType::repository && name_matches(g.name, repository))
      out = out | g.actions.effective();
  return out;
}

bool GrantSet::allows(std::string_view repository, Action action) const {
  return actions_for(repository).contains(action);
}

bool GrantSet::allows_catalog() const { return std::ranges::any_of(grants_, is_catalog); }

Result<GrantSet> GrantSet::from_claims(std::string_view payload_json) {
  auto payload = parse_json_object(payload_json);
  if (!payload) return claims_error("token payload is not a JSON object");
  GrantSet set;
  if (payload->contains("access"))
    if (auto ok = add_docker_access(set, payload->at("access")); !ok) return std::unexpected(ok.error());
  if (payload->contains("repos"))
    if (auto ok = add_repos_with_scope(set, *payload); !ok) return std::unexpected(ok.error());
  if (payload->contains("repo_access"))
    if (auto ok = add_repo_access(set, payload->at("repo_access")); !ok) return std::unexpected(ok.error());
  return set;
}

Result<GrantSet> GrantSet::from_scopes(std::span<const Scope> scopes) {
  GrantSet set;
  for (const auto& scope : scopes) {
    auto type = known_type(scope.type);
    if (!type) return fail("SCOPE_INVALID", "unknown resource type in " + scope.str());
    if (*type == ResourceType::registry && scope.name != kCatalog)
      return fail("SCOPE_INVALID", "the only registry resource is catalog: " + scope.str());
    ActionSet actions;
    for (const auto& name : scope.actions) {
      auto a = ActionSet::parse(name);
      if (!a) return fail("SCOPE_INVALID", a.error().message + " in " + scope.str());
      actions = actions | *a;
    }
    set.add({*type, scope.name, actions});
  }
  return set;
}

GrantSet GrantSet::intersect(std::span<const Scope> requested, const GrantSet& allowed) {
  GrantSet granted;
  for (const auto& scope : requested) {
    auto type = known_type(scope.type);
    if (!type || scope.name.find('*') != std::string::npos) continue;
    ActionSet asked = known_actions(scope.actions);
    if (*type == ResourceType::registry) {
      if (scope.name == kCatalog && asked == ActionSet::all() && allowed.allows_catalog())
        granted.add({*type, scope.name, asked});
      continue;
    }
    ActionSet given = asked & allowed.actions_for(scope.name);
    if (!given.empty()) granted.add({*type, scope.name, given});
  }
  return granted;
}

std::string GrantSet::access_claim_json() const {
  json access = json::array();
  for (const auto& g : grants_) {
    bool registry = g.type == ResourceType::registry;
    access.push_back({{"type", registry ? "registry" : "repository"},
                      {"name", g.name},
                      {"actions", is_catalog(g) ? std::vector<std::string>{"*"} : g.actions.effective().names()}});
  }
  return dump_json(access);
}

}  // namespace strata::auth
