// A build context packed for upload: `strata build` turns a directory into a
// gzip-compressed tar the way `docker build` does before sending it.
//
// What goes in: every path below the directory that its .dockerignore does
// not exclude (engine/dockerfile/dockerignore.h semantics), plus the paths in
// `always` (the Dockerfile and .dockerignore are sent even when excluded, as
// Docker does). An excluded directory is not entered unless an exception
// could re-include something below it; then only what is included is written,
// not the directory entry itself. Directories, regular files and symlinks are
// written (hard links as separate regular files); devices, fifos and sockets
// are skipped with a warning on stderr, since the server refuses them. Entries
// are in sorted order; owners are written as 0:0 (the server ignores them).
//
// Contract: the archive is a temporary file owned by the ContextArchive and
// removed with it. Errors: DOCKERIGNORE_INVALID, IO (unreadable context,
// temp file), INTERNAL (libarchive).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "common/error.h"

namespace strata::cli {

class ContextArchive {
 public:
  // Packs `context_dir`; `always` holds context-relative '/'-separated paths.
  static Result<std::unique_ptr<ContextArchive>> pack(const std::filesystem::path& context_dir,
                                                      std::span<const std::string> always);
  ~ContextArchive();
  ContextArchive(const ContextArchive&) = delete;
  ContextArchive& operator=(const ContextArchive&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::uint64_t size() const { return size_; }        // bytes of the .tar.gz
  std::uint64_t entries() const { return entries_; }  // tar entries written

 private:
  ContextArchive(std::filesystem::path path, std::uint64_t size, std::uint64_t entries)
      : path_(std::move(path)), size_(size), entries_(entries) {}

  std::filesystem::path path_;
  std::uint64_t size_ = 0;
  std::uint64_t entries_ = 0;
};

}  // namespace strata::cli
