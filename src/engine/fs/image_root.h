// A root filesystem seen the way a process inside the container sees it:
// every lookup goes through openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS),
// so absolute symlinks and ".." resolve against the root, never above it
// (`/link -> /usr` leads to <root>/usr, `/evil -> ../../../tmp` to
// <root>/tmp). COPY/ADD use it for both ends: the step's rootfs they write
// into, and the context or stage filesystem they read from.
//
// Paths are relative to the root, '/'-separated and already cleaned (see
// layer_path.h); "" names the root itself.
//
// Contract: owns the root descriptor; const methods may be used from one
// thread at a time. Errors: IO (errno text, path as detail); a path that
// crosses a non-directory is reported as missing by open() and as
// COPY_INVALID by make_dirs().
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/error.h"
#include "engine/fs/copy.h"
#include "engine/layer/file_descriptor.h"

namespace strata::engine::fs {

class ImageRoot {
 public:
  static Result<ImageRoot> open(const std::filesystem::path& root);

  // Opens `rel` with open(2) `flags` (O_NOFOLLOW: the last component itself,
  // not what it points to); std::nullopt when it does not exist, including a
  // dangling symlink that is followed.
  Result<std::optional<UniqueFd>> open(const std::string& rel, int flags) const;

  // An O_PATH descriptor of directory `rel`, creating missing directories
  // (mode 0755, owned by `owner`) on the way, through symlinks as inside the
  // container; a dangling symlink on the way gets its target created.
  Result<UniqueFd> make_dirs(const std::string& rel, Owner owner) const;

  // Where a descriptor opened below this root really is, relative to the
  // root (symlinks resolved): what .dockerignore rules are checked against.
  Result<std::string> path_of(int fd) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  static constexpr int kMaxSymlinks = 40;  // as the kernel's ELOOP limit

  Result<UniqueFd> make_dirs(const std::string& rel, Owner owner, int symlinks_followed) const;
  // Where the symlink `name` in dir_fd points, relative to the root;
  // std::nullopt when `name` is not a symlink.
  Result<std::optional<std::string>> dangling_target(int dir_fd, const std::string& name) const;

  ImageRoot(UniqueFd fd, std::filesystem::path path, std::string real)
      : fd_(std::move(fd)), path_(std::move(path)), real_(std::move(real)) {}
  UniqueFd fd_;
  std::filesystem::path path_;
  std::string real_;  // the root's own resolved path, for path_of()
};

}  // namespace strata::engine::fs
