// The one home of a build's cache names: the rules for cache_scope and
// global_cache_key, and the names they become — the repositories cache/<scope>
// and cache/global/<key>, and the scope of RUN --mount=type=cache directories.
// Nothing else in the build service builds a "cache/..." name.
//
//   cache_scope       one repository path component (OCI distribution grammar
//                     [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*) of 2 to 63
//                     characters, not "global" (cache/global is the global
//                     cache's namespace)
//   global_cache_key  one repository path component of 1 to 64 characters;
//                     "global" is allowed (cache/global/global stays inside
//                     cache/global)
//
// So neither can leave its namespace: no '/', no "." or ".." component, no
// leading or trailing separator, no empty name. There is no normalisation:
// a name is used exactly as given or refused, and upper case is refused, not
// folded, so "Node" never silently means "node" (a client sees its mistake
// instead of sharing a cache it did not name).
//
// Errors: FIELD_INVALID naming the field (field_error.h), with a message
// that says which rule the value breaks. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "builds/build_record.h"
#include "common/error.h"

namespace strata::builds {

Result<void> validate_cache_scope(std::string_view scope);
Result<void> validate_global_cache_key(std::string_view key);

// "cache/<scope>" and "cache/global/<key>", or nothing when the name breaks
// its rules (a record written under older rules then gets no cache rather
// than a repository outside the namespace).
std::optional<std::string> tenant_cache_repository(std::string_view scope);
std::optional<std::string> global_cache_repository(std::string_view key);

// Which RUN --mount=type=cache directories a build shares: "global-<key>" for
// admin builds with a key, "scope-<scope>" for builds with a cache scope,
// "operator" for the operator's other builds. The prefixes keep them apart, so
// a tenant whose id is "global-node" cannot share an admin build's mounts.
std::string cache_mount_scope(const BuildRequest& request);

}  // namespace strata::builds
