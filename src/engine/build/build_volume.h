// A build's own filesystem: the disk quota and the fast scratch space in one.
//
// Everything a build writes on the builder host — its steps' upper dirs and
// overlay work dirs, its layer blobs and downloads — goes to a fresh ext4
// filesystem in a sparse image file of the quota's size, attached through a
// loop device (direct I/O, so the host's page cache holds no second copy) and
// mounted at the build's dir. It works on any host filesystem that holds
// sparse files, with no mount options or quota tools on the host:
//   - the host's disk never gives the build more than the quota: a write past
//     it fails with ENOSPC inside the build (exhausted() then tells that the
//     quota, not the host, ran out);
//   - a fresh filesystem per build keeps file creation fast (a long-lived
//     work dir slows down as its inode bitmaps fragment);
//   - dropping a build is an unmount and an unlink, however many files it made.
// Making one costs a mkfs.ext4 (no journal, lazy inode tables) and a mount:
// ~0.2 s, measured in bench/build_bench.
//
// Contract: needs root and /dev/loop-control. open() leaves nothing behind on
// failure; the destructor unmounts (lazily if busy) and deletes the image.
// Not copyable; movable. Errors: DISK_SETUP (the loop device, mkfs or the
// mount failed), IO.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/error.h"

namespace strata::engine::build {

class BuildVolume {
 public:
  // Creates `image` (sparse, `bytes` long), makes a filesystem in it and
  // mounts it on `mount_point` (created if missing).
  static Result<BuildVolume> open(const std::filesystem::path& image, const std::filesystem::path& mount_point,
                                  std::int64_t bytes);
  BuildVolume(BuildVolume&& other) noexcept;
  BuildVolume& operator=(BuildVolume&&) = delete;
  ~BuildVolume();

  const std::filesystem::path& mount_point() const { return mount_point_; }
  std::int64_t bytes() const { return bytes_; }

  // True when the filesystem has (next to) no room or no inodes left: a
  // failure now is the quota's doing.
  bool exhausted() const;

 private:
  BuildVolume(std::filesystem::path image, std::filesystem::path mount_point, std::int64_t bytes)
      : image_(std::move(image)), mount_point_(std::move(mount_point)), bytes_(bytes) {}

  std::filesystem::path image_, mount_point_;
  std::int64_t bytes_ = 0;
};

// True when the filesystem at `mount_point`, of `bytes`, has (next to) no
// room or no inodes left: a failure there now is the quota's doing.
bool volume_exhausted(const std::filesystem::path& mount_point, std::int64_t bytes);

// Unmounts and deletes every volume image under `dir` (crash recovery: only
// when no builder is running).
void sweep_build_volumes(const std::filesystem::path& dir);

// The two halves of open(), for volumes that outlive a build (cache mounts):
// a sparse image of `bytes` with a fresh filesystem in it, and mounting an
// existing image on `mount_point`.
Result<void> create_volume_image(const std::filesystem::path& image, std::int64_t bytes);
Result<void> mount_volume_image(const std::filesystem::path& image, const std::filesystem::path& mount_point);

}  // namespace strata::engine::build
