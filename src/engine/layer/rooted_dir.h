// Path operations confined to one root directory, for unpacking untrusted
// layers. Every lookup goes through openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS): a path whose resolution would leave the root
// (through "..", an absolute symlink, or a relative one climbing out) fails
// with LAYER_INVALID instead of being followed. Symlinks that stay inside the
// root are followed, as they would be inside the image.
//
// Paths are relative to the root, already cleaned (no "", ".", ".."
// components; see layer_path.h); "" names the root itself.
//
// Contract: owns the root descriptor; not thread-safe. Errors: LAYER_INVALID
// for escapes and non-directories where a directory is needed, IO otherwise.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "engine/layer/file_descriptor.h"
#include "engine/layer/layer_path.h"

namespace strata::engine::layer {

class RootedDir {
 public:
  static Result<RootedDir> open(const std::filesystem::path& root);

  // An O_PATH descriptor of directory `rel`; std::nullopt when it is missing.
  Result<std::optional<UniqueFd>> find_dir(const std::string& rel) const;
  // Like find_dir, creating missing directories (mode 0755) on the way.
  Result<UniqueFd> make_dir(const std::string& rel) const;

  // Removes `name` in the directory open at dir_fd, recursively when it is a
  // directory, never following symlinks. A missing name is not an error.
  static Result<void> remove_at(int dir_fd, const std::string& name, std::string_view path);

 private:
  RootedDir(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace strata::engine::layer
