#include "common/text.h"
#include "engine/dockerfile/dockerignore.h"

#include <algorithm>
#include <optional>

namespace strata::engine::dockerfile {
namespace {


// filepath.Clean on a relative path, as segments: no empty or "." parts,
// ".." removes the previous part when there is one.
std::vector<std::string> clean_segments(std::string_view path) {
  std::vector<std::string> out;
  for (;;) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (part == ".." && !out.empty() && out.back() != "..") out.pop_back();
    else if (!part.empty() && part != ".") out.emplace_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string join(const std::vector<std::string>& segments) {
  std::string out;
  for (const auto& s : segments) out += (out.empty() ? "" : "/") + s;
  return out.empty() ? "." : out;
}

// Matches one character of `name` against the pattern element at `p` ('?',
// a class, an escaped or a plain character); advances `p` past the element.
bool match_element(std::string_view pat, size_t& p, char c) {
  char first = pat[p];
  if (first == '?') {
    ++p;
    return true;
  }
  if (first == '\\' && p + 1 < pat.size()) {
    p += 2;
    return pat[p - 1] == c;
  }
  if (first != '[') {
    ++p;
    return first == c;
  }
  size_t i = p + 1;
  bool negate = i < pat.size() && pat[i] == '^';
  if (negate) ++i;
  auto read_char = [&](size_t& at) {
    if (pat[at] == '\\' && at + 1 < pat.size()) ++at;
    return static_cast<unsigned char>(pat[at++]);
  };
  auto ch = static_cast<unsigned char>(c);
  bool matched = false;
  for (bool first_item = true; i < pat.size() && (first_item || pat[i] != ']'); first_item = false) {
    auto lo = read_char(i), hi = lo;
    if (i + 1 < pat.size() && pat[i] == '-' && pat[i + 1] != ']') hi = read_char(++i);
    matched = matched || (lo <= ch && ch <= hi);
  }
  p = i + 1;  // past ']' (parse() rejected unterminated classes)
  return matched != negate;
}

// Glob match of one path segment; '*' never crosses '/', so no segment has one.
bool match_segment(std::string_view pat, std::string_view name) {
  size_t p = 0, s = 0, star_p = std::string_view::npos, star_s = 0;
  while (s < name.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star_p = ++p;
      star_s = s;
      continue;
    }
    size_t next = p;
    if (p < pat.size() && match_element(pat, next, name[s])) {
      p = next;
      ++s;
    } else if (star_p != std::string_view::npos) {
      p = star_p;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

// reach[i][j]: the first i pattern segments match the first j path segments.
std::vector<std::vector<char>> reachable(const std::vector<std::string>& pat,
                                         const std::vector<std::string>& path) {
  std::vector<std::vector<char>> reach(pat.size() + 1, std::vector<char>(path.size() + 1, 0));
  reach[0][0] = 1;
  for (size_t i = 0; i < pat.size(); ++i) {
    bool last = i + 1 == pat.size();
    for (size_t j = 0; j <= path.size(); ++j) {
      if (!reach[i][j]) continue;
      if (pat[i] == "**") {
        // A trailing "**" needs at least one segment, as moby's "dir/.*".
        for (size_t k = last ? j + 1 : j; k <= path.size(); ++k) reach[i + 1][k] = 1;
      } else if (j < path.size() && match_segment(pat[i], path[j])) {
        reach[i + 1][j + 1] = 1;
      }
    }
  }
  return reach;
}

// Whether the pattern matches the path or one of its parent directories.
bool matches_path_or_parent(const IgnorePattern& pattern, const std::vector<std::string>& path) {
  auto reach = reachable(pattern.segments, path);
  const auto& full = reach.back();
  return std::any_of(full.begin() + 1, full.end(), [](char r) { return r != 0; });
}

std::optional<std::string> pattern_problem(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      if (++i == text.size()) return "ends with an escape character";
    } else if (text[i] == '[') {
      size_t j = i + 1;
      if (j < text.size() && text[j] == '^') ++j;
      for (bool first = true; j < text.size() && (first || text[j] != ']'); first = false)
        j += text[j] == '\\' ? 2 : 1;
      if (j >= text.size()) return "has an unterminated '['";
      i = j;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<IgnoreRules> IgnoreRules::parse(std::string_view dockerignore) {
  if (dockerignore.starts_with("\xEF\xBB\xBF")) dockerignore.remove_prefix(3);
  IgnoreRules rules;
  int line_number = 0;
  while (!dockerignore.empty()) {
    auto nl = dockerignore.find('\n');
    auto line = dockerignore.substr(0, nl);
    dockerignore.remove_prefix(nl == std::string_view::npos ? dockerignore.size() : nl + 1);
    ++line_number;
    // As in moby, only a '#' in the first column starts a comment.
    if (line.starts_with('#')) continue;
    line = trim(line);
    if (line.empty()) continue;
    IgnorePattern pattern;
    pattern.exception = line.front() == '!';
    if (pattern.exception) line = trim(line.substr(1));
    auto fail_line = [&](std::string what) {
      return fail("DOCKERIGNORE_INVALID", "line " + std::to_string(line_number) + ": " + what);
    };
    if (pattern.exception && line.empty()) return fail_line("illegal exclusion pattern \"!\"");
    if (auto problem = pattern_problem(line))
      return fail_line("pattern \"" + std::string(line) + "\" " + *problem);
    pattern.segments = clean_segments(line);
    pattern.text = join(pattern.segments);
    rules.patterns_.push_back(std::move(pattern));
  }
  return rules;
}

bool IgnoreRules::excluded(std::string_view path) const {
  auto segments = clean_segments(path);
  bool matched = false;
  for (const auto& pattern : patterns_) {
    // Only a pattern that could change the outcome needs evaluating.
    if (pattern.exception != matched) continue;
    if (matches_path_or_parent(pattern, segments)) matched = !pattern.exception;
  }
  return matched;
}

bool IgnoreRules::may_contain_included(std::string_view dir) const {
  auto segments = clean_segments(dir);
  return std::any_of(patterns_.begin(), patterns_.end(), [&](const IgnorePattern& pattern) {
    if (!pattern.exception) return false;
    auto reach = reachable(pattern.segments, segments);
    // Some prefix of the pattern consumed the whole directory and more pattern
    // remains for what lies below, or the whole pattern matched on the way.
    for (size_t i = 0; i < pattern.segments.size(); ++i)
      if (reach[i][segments.size()]) return true;
    return matches_path_or_parent(pattern, segments);
  });
}

}  // namespace strata::engine::dockerfile
