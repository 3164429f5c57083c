// Pattern matching with fnmatch(3) per path segment (without FNM_PERIOD it
// follows filepath.Match: '*' and '?' match a leading dot, '[^...]' negates)
// and a sorted pre-order walk of each match.
#include "engine/fs/source_selection.h"

#include <fcntl.h>
#include <fnmatch.h>

#include <algorithm>

#include "engine/dockerfile/dockerignore.h"
#include "engine/fs/root_path.h"
#include "engine/layer/layer_path.h"

namespace strata::engine::fs {
namespace {

using layer::join_path;

bool has_glob_meta(std::string_view segment) {
  return segment.find_first_of("*?[\\") != std::string_view::npos;
}

// The pattern's cleaned segments.
Result<std::vector<std::string>> pattern_segments(std::string_view pattern) {
  auto clean = clean_in_root(pattern);
  if (!clean)
    return fail("COPY_INVALID", "forbidden path outside the build context: " + std::string(pattern));
  std::vector<std::string> segments;
  std::string_view rest = *clean;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    segments.emplace_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  return segments;
}

// Logical paths (symlinks not yet followed) the pattern's segments match.
Result<std::vector<std::string>> expand(const ImageRoot& root, const std::vector<std::string>& segments) {
  std::vector<std::string> candidates{""};
  for (const auto& segment : segments) {
    std::vector<std::string> next;
    for (const auto& candidate : candidates) {
      if (!has_glob_meta(segment)) {
        next.push_back(join_path(candidate, segment));
        continue;
      }
      auto dir = root.open(candidate, O_PATH | O_DIRECTORY);
      if (!dir) return std::unexpected(dir.error());
      if (!*dir) continue;
      auto names = layer::list_directory(dir->value().get(), candidate);
      if (!names) return std::unexpected(names.error());
      std::ranges::sort(*names);
      for (const auto& name : *names)
        if (::fnmatch(segment.c_str(), name.c_str(), 0) == 0) next.push_back(join_path(candidate, name));
    }
    candidates = std::move(next);
  }
  return candidates;
}

class SourceWalker {
 public:
  explicit SourceWalker(const dockerfile::IgnoreRules* ignore) : ignore_(ignore) {}

  bool excluded(const std::string& real) const { return ignore_ != nullptr && ignore_->excluded(real); }
  bool may_contain_included(const std::string& real) const {
    return ignore_ != nullptr && ignore_->may_contain_included(real);
  }

  // Appends `dir`'s tree below `sub`; the directory's own entry is already in `out`.
  Result<void> walk(int dir_fd, const std::string& real, const std::string& sub,
                    std::vector<SourceEntry>& out) const {
    auto names = layer::list_directory(dir_fd, real);
    if (!names) return std::unexpected(names.error());
    std::ranges::sort(*names);
    for (const auto& name : *names) {
      SourceEntry entry{join_path(sub, name), {}};
      std::string child_real = join_path(real, name);
      if (::fstatat(dir_fd, name.c_str(), &entry.st, AT_SYMLINK_NOFOLLOW) != 0)
        return layer::errno_error("stat", child_real);
      // A socket cannot be carried in a layer; Docker's context drops them too.
      if (S_ISSOCK(entry.st.st_mode)) continue;
      bool is_excluded = excluded(child_real);
      if (!S_ISDIR(entry.st.st_mode)) {
        if (!is_excluded) out.push_back(std::move(entry));
        continue;
      }
      if (is_excluded && !may_contain_included(child_real)) continue;
      UniqueFd child(::openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child) return layer::errno_error("open directory", child_real);
      std::size_t mark = out.size();
      std::string child_rel = entry.rel;  // not out[mark].rel: `out` reallocates as the walk below grows it
      out.push_back(std::move(entry));
      if (auto ok = walk(child.get(), child_real, child_rel, out); !ok) return ok;
      if (is_excluded && out.size() == mark + 1) out.pop_back();
    }
    return {};
  }

 private:
  const dockerfile::IgnoreRules* ignore_;
};

// The match at `logical` with its tree; std::nullopt when it does not exist
// or is entirely ignored.
Result<std::optional<SelectedSource>> select_one(const ImageRoot& root, const std::string& logical,
                                                 const SourceWalker& walker) {
  auto fd = root.open(logical, O_PATH);
  if (!fd) return std::unexpected(fd.error());
  if (!*fd) return std::nullopt;
  SelectedSource source;
  source.name = layer::split_parent(logical).second;
  auto real = root.path_of(fd->value().get());
  if (!real) return std::unexpected(real.error());
  source.real = std::move(*real);
  SourceEntry top{"", {}};
  if (::fstat(fd->value().get(), &top.st) != 0) return layer::errno_error("stat", logical);
  bool is_excluded = walker.excluded(source.real);
  if (!S_ISDIR(top.st.st_mode)) {
    if (is_excluded || S_ISSOCK(top.st.st_mode)) return std::nullopt;
    source.entries.push_back(std::move(top));
    return source;
  }
  if (is_excluded && !walker.may_contain_included(source.real)) return std::nullopt;
  source.entries.push_back(std::move(top));
  if (auto ok = walker.walk(fd->value().get(), source.real, "", source.entries); !ok)
    return std::unexpected(ok.error());
  if (is_excluded && source.entries.size() == 1) return std::nullopt;
  return source;
}

}  // namespace

Result<std::vector<SelectedSource>> select_sources(const ImageRoot& root, std::string_view pattern,
                                                   bool is_context,
                                                   const dockerfile::IgnoreRules* ignore) {
  auto segments = pattern_segments(pattern);
  if (!segments) return std::unexpected(segments.error());
  auto logical = expand(root, *segments);
  if (!logical) return std::unexpected(logical.error());
  SourceWalker walker(ignore);
  std::vector<SelectedSource> selected;
  for (const auto& path : *logical) {
    auto one = select_one(root, path, walker);
    if (!one) return std::unexpected(one.error());
    if (*one) selected.push_back(std::move(**one));
  }
  if (selected.empty())
    return fail("COPY_SOURCE_MISSING",
                is_context ? "COPY failed: file not found in build context or excluded by .dockerignore: " +
                                 std::string(pattern)
                           : "COPY failed: file not found in source filesystem: " + std::string(pattern));
  return selected;
}

}  // namespace strata::engine::fs
