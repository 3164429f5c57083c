#include "engine/build/working_dir.h"

#include <fcntl.h>

#include <fmt/format.h>

#include "engine/fs/image_root.h"
#include "engine/fs/root_path.h"

namespace strata::engine::build {

Result<bool> create_working_dir(const std::filesystem::path& rootfs, std::string_view path, fs::Owner owner) {
  auto rel = fs::clean_in_root(path);
  if (!rel) return fail("BUILD_INVALID", fmt::format("working directory {} leaves the root", std::string(path)));
  if (rel->empty()) return false;
  auto root = fs::ImageRoot::open(rootfs);
  if (!root) return std::unexpected(root.error());
  auto existing = root->open(*rel, O_PATH | O_DIRECTORY);
  if (!existing) return std::unexpected(existing.error());
  if (*existing) return false;
  auto made = root->make_dirs(*rel, owner);
  if (!made) return std::unexpected(made.error());
  return true;
}

}  // namespace strata::engine::build
