// Cleaning, splitting and joining layer-relative paths.
#include "engine/layer/layer_path.h"

namespace strata::engine::layer {

Result<std::string> clean_layer_path(std::string_view name) {
  if (name.starts_with('/'))
    return fail("LAYER_INVALID", "layer entry has an absolute path", std::string(name));
  std::string clean;
  while (!name.empty()) {
    auto slash = name.find('/');
    std::string_view part = name.substr(0, slash);
    name = slash == std::string_view::npos ? std::string_view{} : name.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return fail("LAYER_INVALID", "layer entry path contains \"..\"", std::string(part));
    if (!clean.empty()) clean += '/';
    clean += part;
  }
  return clean;
}

std::pair<std::string, std::string> split_parent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string join_path(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

}  // namespace strata::engine::layer
