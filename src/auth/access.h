// The grant model: which repositories a token may touch and how. Every claim
// shape a token may carry normalises to one GrantSet, and the registry asks
// the GrantSet, never the claims, so there is one authorization code path.
//
// Names may be patterns: `*` matches within one path segment (no '/'), `**`
// matches any run of characters including '/' (zero or more), everything else
// matches itself: `cache/global/*`, `acme/**`, `**`. Actions are pull, push
// and delete; `*` means all three. push implies pull on the same name; delete
// implies nothing. The only registry-level grant is `registry:catalog:*`.
//
// GrantSet is a value type; const methods are thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/scope.h"
#include "common/error.h"

namespace strata::auth {

enum class Action : std::uint8_t { pull = 1, push = 2, delete_ = 4 };

class ActionSet {
 public:
  constexpr ActionSet() = default;
  constexpr ActionSet(Action a) : bits_(static_cast<std::uint8_t>(a)) {}  // NOLINT: implicit on purpose
  static constexpr ActionSet all() { return ActionSet(Action::pull) | Action::push | Action::delete_; }
  // "pull", "push", "delete" or "*"; anything else is ACTION_UNKNOWN.
  static Result<ActionSet> parse(std::string_view name);

  bool contains(Action a) const { return (bits_ & static_cast<std::uint8_t>(a)) != 0; }
  bool empty() const { return bits_ == 0; }
  // What this set allows: push brings pull with it.
  ActionSet effective() const { return contains(Action::push) ? *this | Action::pull : *this; }
  std::vector<std::string> names() const;  // in the order pull, push, delete

  friend constexpr ActionSet operator|(ActionSet a, ActionSet b) { return ActionSet(a.bits_ | b.bits_); }
  friend constexpr ActionSet operator&(ActionSet a, ActionSet b) { return ActionSet(a.bits_ & b.bits_); }
  friend bool operator==(ActionSet, ActionSet) = default;

 private:
  constexpr explicit ActionSet(int bits) : bits_(static_cast<std::uint8_t>(bits)) {}
  std::uint8_t bits_ = 0;
};

enum class ResourceType { repository, registry };

struct AccessGrant {
  ResourceType type = ResourceType::repository;
  std::string name;  // repository name or pattern; "catalog" for registry
  ActionSet actions;
  friend bool operator==(const AccessGrant&, const AccessGrant&) = default;
};

// True iff `name` matches `pattern` (see the file comment). Linear in
// pattern length times name length; no backtracking blow-up.
bool name_matches(std::string_view pattern, std::string_view name);

class GrantSet {
 public:
  GrantSet() = default;  // allows nothing
  // Everything: `**` with all actions, and the catalog.
  static GrantSet everything();

  // Grants for the same type and name merge their actions.
  void add(AccessGrant grant);

  bool allows(std::string_view repository, Action action) const;
  ActionSet actions_for(std::string_view repository) const;  // effective actions
  bool may_pull(std::string_view repository) const { return allows(repository, Action::pull); }
  bool may_push(std::string_view repository) const { return allows(repository, Action::push); }
  bool allows_catalog() const;
  bool empty() const { return grants_.empty(); }
  const std::vector<AccessGrant>& grants() const { return grants_; }

  // Normalises the claims of a verified JWT payload (a JSON object). Any
  // of these shapes may appear; present ones are united:
  //   Docker: "access": [{"type":"repository","name":"n","actions":["pull","push"]}]
  //   older:  "repos": ["n", ...], "scope": "push"
  //   older:  "repo_access": [{"repo":"n","scope":"push"}]
  // Unknown resource types and action names grant nothing (as in Docker);
  // wrong JSON types or invalid patterns are TOKEN_CLAIMS. No shape at all
  // is an empty set, not an error.
  static Result<GrantSet> from_claims(std::string_view payload_json);

  // Exactly these scopes, patterns allowed (offline minting by an operator).
  // Unknown types or actions are SCOPE_INVALID.
  static Result<GrantSet> from_scopes(std::span<const Scope> scopes);

  // What the token endpoint grants: each requested action that `allowed`
  // permits on the requested name. Requested names are taken literally, so
  // a request containing '*' is granted nothing (it could otherwise widen a
  // narrower allowed pattern). Partial or empty results are not errors.
  static GrantSet intersect(std::span<const Scope> requested, const GrantSet& allowed);

  // The Docker `access` claim as JSON text. Repository grants list their
  // effective actions explicitly (push also lists pull), so registries that
  // compare action names literally read them right; the catalog is "*".
  std::string access_claim_json() const;

  friend bool operator==(const GrantSet&, const GrantSet&) = default;

 private:
  std::vector<AccessGrant> grants_;
};

}  // namespace strata::auth
