#include "engine/fs/root_path.h"

#include <vector>

namespace strata::engine::fs {

std::optional<std::string> clean_in_root(std::string_view path) {
  bool absolute = path.starts_with('/');
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      segments.push_back(part);
    } else if (!segments.empty()) {
      segments.pop_back();
    } else if (!absolute) {
      return std::nullopt;
    }
  }
  std::string clean;
  for (auto part : segments) {
    if (!clean.empty()) clean += '/';
    clean += part;
  }
  return clean;
}

}  // namespace strata::engine::fs
