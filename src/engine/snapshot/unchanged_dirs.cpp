#include "engine/snapshot/unchanged_dirs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace strata::engine::snapshot {
namespace fs = std::filesystem;

namespace {

bool opaque(const fs::path& dir) {
  char value[2];
  return ::lgetxattr(dir.c_str(), "trusted.overlay.opaque", value, sizeof value) > 0;
}

bool same_dir(const struct stat& a, const struct stat& b) {
  return S_ISDIR(a.st_mode) && S_ISDIR(b.st_mode) && a.st_mode == b.st_mode && a.st_uid == b.st_uid &&
         a.st_gid == b.st_gid && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// The metadata of `relative` in the top-most lower holding it.
bool lower_stat(const std::vector<fs::path>& lowers, const fs::path& relative, struct stat& out) {
  for (auto lower = lowers.rbegin(); lower != lowers.rend(); ++lower)
    if (::lstat((*lower / relative).c_str(), &out) == 0) return true;
  return false;
}

class Pruner {
 public:
  Pruner(const fs::path& upper, const std::vector<fs::path>& lowers) : upper_(upper), lowers_(lowers) {}

  // Prunes below `relative`; returns whether `relative` itself is now empty.
  Result<bool> prune(const fs::path& relative) {
    fs::path dir = relative.empty() ? upper_ : upper_ / relative;
    DIR* stream = ::opendir(dir.c_str());
    if (!stream) return fail("IO", fmt::format("cannot read {}: {}", dir.string(), std::strerror(errno)));
    std::vector<std::pair<std::string, bool>> entries;  // name, is a directory
    while (dirent* entry = ::readdir(stream)) {
      std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      entries.emplace_back(name, entry->d_type == DT_DIR);
    }
    ::closedir(stream);
    std::size_t left = entries.size();
    for (const auto& [name, is_dir] : entries) {
      if (!is_dir) continue;
      fs::path child = relative / name;
      // Judged before its own children go: removing them touches its mtime.
      bool was_unchanged = unchanged(child);
      auto empty = prune(child);
      if (!empty) return empty;
      if (*empty && was_unchanged) {
        if (::rmdir((upper_ / child).c_str()) != 0)
          return fail("IO", fmt::format("cannot remove {}: {}", (upper_ / child).string(), std::strerror(errno)));
        --left;
      }
    }
    return left == 0;
  }

 private:
  bool unchanged(const fs::path& relative) const {
    struct stat mine {}, theirs {};
    fs::path path = upper_ / relative;
    return ::lstat(path.c_str(), &mine) == 0 && !opaque(path) && lower_stat(lowers_, relative, theirs) &&
           same_dir(mine, theirs);
  }

  const fs::path& upper_;
  const std::vector<fs::path>& lowers_;
};

}  // namespace

Result<void> remove_unchanged_dirs(const fs::path& upper, const std::vector<fs::path>& lowers) {
  Pruner pruner(upper, lowers);
  auto pruned = pruner.prune({});
  if (!pruned) return std::unexpected(pruned.error());
  return {};
}

}  // namespace strata::engine::snapshot
