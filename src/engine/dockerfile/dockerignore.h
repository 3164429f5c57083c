// .dockerignore: which context paths are left out of a build, with the
// semantics of moby/patternmatcher. Lines starting with '#' are comments;
// patterns are trimmed and cleaned like paths (leading and trailing '/',
// "./" and duplicate slashes removed); '!' makes an exception; the last
// pattern that matches a path decides. Patterns use '*' and '?' (never
// crossing '/'), '[a-z]' / '[^a-z]' classes, '\' escapes, and '**' as a
// whole segment for any number of directories (at the end, one or more).
// A pattern that matches a directory also matches everything below it.
//
// Contract: IgnoreRules is immutable after parse() and safe to share across
// threads. parse() fails with DOCKERIGNORE_INVALID ("line N: ...") on a
// pattern that cannot be compiled: unterminated '[', trailing '\', bare '!'.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace strata::engine::dockerfile {

struct IgnorePattern {
  std::string text;                   // cleaned pattern without '!'
  bool exception = false;             // written with a leading '!'
  std::vector<std::string> segments;  // text split at '/'
};

class IgnoreRules {
 public:
  static Result<IgnoreRules> parse(std::string_view dockerignore);

  // Whether `path` (relative to the context, '/'-separated) is excluded.
  bool excluded(std::string_view path) const;

  // Whether some exception could re-include `dir` or a path below it; when
  // false, a walker may skip an excluded directory without reading it.
  bool may_contain_included(std::string_view dir) const;

  const std::vector<IgnorePattern>& patterns() const { return patterns_; }

 private:
  std::vector<IgnorePattern> patterns_;
};

}  // namespace strata::engine::dockerfile
