// Where RUN --mount=type=cache dirs live: one filesystem per cache-mount
// scope (a tenant), <root>/<scope>.img, of the build disk quota's size, so a
// tenant's cache mounts can fill only their own volume, never the host's disk.
// Unlike a build's volume it is kept across builds (that is what a cache
// mount is for); it is mounted at <root>/<scope>/ while at least one build
// uses it and unmounted by the last one, so no builder leaves it mounted.
//
// Several builder processes share a scope: each holds a shared flock on
// <scope>.users while it uses the volume; mounting and unmounting happen
// under an exclusive flock on <scope>.lock, and the last user (the one whose
// exclusive try-lock on .users succeeds) unmounts. A crashed builder's flocks
// go with it, so the next release or the work dir's sweep unmounts.
//
// Contract: dir_for() mounts on first use within the object and returns the
// same dir after; the destructor releases every scope it acquired. Not
// thread-safe (one per build). Errors: DISK_SETUP, IO.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/unique_fd.h"

namespace strata::engine::build {

class CacheMountVolumes {
 public:
  // `bytes`: each scope's size; 0 keeps cache mounts in plain dirs.
  CacheMountVolumes(std::filesystem::path root, std::int64_t bytes) : root_(std::move(root)), bytes_(bytes) {}
  ~CacheMountVolumes();
  CacheMountVolumes(const CacheMountVolumes&) = delete;
  CacheMountVolumes& operator=(const CacheMountVolumes&) = delete;

  // The mounted root of `scope` (one path component).
  Result<std::filesystem::path> dir_for(const std::string& scope);

  // True when a scope this build uses is full.
  bool exhausted() const;
  std::int64_t bytes() const { return bytes_; }

 private:
  std::filesystem::path root_;
  std::int64_t bytes_;
  std::map<std::string, UniqueFd> users_;  // scope -> our shared flock on <scope>.users
};

}  // namespace strata::engine::build
