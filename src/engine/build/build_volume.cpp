#include "engine/build/build_volume.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "common/unique_fd.h"
#include "engine/exec/child_process.h"

namespace strata::engine::build {
namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::error_code(err, std::system_category()).message(); }

std::unexpected<Error> setup_failed(std::string_view what, int err) {
  return fail("DISK_SETUP", fmt::format("cannot set up the build's disk: {}: {}", what, errno_text(err)));
}

// mkfs.ext4 on the image file: no journal (the filesystem dies with the
// build), inode tables initialised lazily and never by a background thread
// (noinit_itable at mount), no reserved blocks, no discard pass.
Result<void> make_filesystem(const fs::path& image) {
  // Debian keeps mkfs.ext4 in /sbin, which a builder's PATH may lack.
  auto pid = exec::spawn_child({"mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-m", "0", "-E",
                                "lazy_itable_init=1,nodiscard", image.string()},
                               {.env = {"PATH=/usr/sbin:/sbin:/usr/bin:/bin"}});
  if (!pid) return fail("DISK_SETUP", "cannot set up the build's disk: " + pid.error().message + " (e2fsprogs)");
  int status = exec::wait_child(*pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail("DISK_SETUP", fmt::format("cannot set up the build's disk: mkfs.ext4 failed (status {})", status));
  return {};
}

struct LoopDevice {
  std::string path;
  UniqueFd fd;  // autoclear detaches the device at its last close: hold it until mounted
};

// Attaches `image` to a free loop device that detaches itself once the
// filesystem on it is unmounted and the returned fd is closed.
Result<LoopDevice> attach_loop(const fs::path& image) {
  UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control) return setup_failed("/dev/loop-control", errno);
  UniqueFd backing(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (!backing) return setup_failed("image file", errno);
  for (int attempt = 0; attempt < 16; ++attempt) {
    int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (number < 0) return setup_failed("no free loop device", errno);
    std::string device = fmt::format("/dev/loop{}", number);
    UniqueFd loop(::open(device.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop) return setup_failed(device, errno);
    loop_config config{};
    config.fd = static_cast<std::uint32_t>(backing.get());
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
    int rc = ::ioctl(loop.get(), LOOP_CONFIGURE, &config);
    if (rc != 0 && errno == EINVAL) {  // a backing filesystem without O_DIRECT
      config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
      rc = ::ioctl(loop.get(), LOOP_CONFIGURE, &config);
    }
    if (rc == 0) return LoopDevice{device, std::move(loop)};
    if (errno != EBUSY) return setup_failed(device, errno);
    // Another process took the device between GET_FREE and CONFIGURE.
  }
  return setup_failed("loop devices", EBUSY);
}

}  // namespace

Result<void> create_volume_image(const fs::path& image, std::int64_t bytes) {
  std::error_code ec;
  fs::create_directories(image.parent_path(), ec);
  {
    UniqueFd file(::open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!file || ::ftruncate(file.get(), bytes) != 0) {
      int err = errno;
      fs::remove(image, ec);
      return setup_failed("image file", err);
    }
  }
  if (auto made = make_filesystem(image); !made) {
    fs::remove(image, ec);
    return made;
  }
  return {};
}

Result<void> mount_volume_image(const fs::path& image, const fs::path& mount_point) {
  std::error_code ec;
  fs::create_directories(mount_point, ec);
  if (ec) return fail("IO", fmt::format("cannot create {}: {}", mount_point.string(), ec.message()));
  auto device = attach_loop(image);
  if (!device) return std::unexpected(device.error());
  // Once mounted, the device stays attached until the mount goes, though
  // our fd is closed on return (autoclear).
  if (::mount(device->path.c_str(), mount_point.c_str(), "ext4", MS_NOSUID | MS_NODEV, "noinit_itable") != 0)
    return setup_failed("mount", errno);
  return {};
}

Result<BuildVolume> BuildVolume::open(const fs::path& image, const fs::path& mount_point, std::int64_t bytes) {
  if (auto made = create_volume_image(image, bytes); !made) return std::unexpected(made.error());
  if (auto mounted = mount_volume_image(image, mount_point); !mounted) {
    std::error_code ec;
    fs::remove(image, ec);
    return std::unexpected(mounted.error());
  }
  return BuildVolume(image, mount_point, bytes);
}

BuildVolume::BuildVolume(BuildVolume&& other) noexcept
    : image_(std::exchange(other.image_, {})), mount_point_(std::move(other.mount_point_)), bytes_(other.bytes_) {}

BuildVolume::~BuildVolume() {
  if (image_.empty()) return;
  if (::umount2(mount_point_.c_str(), 0) != 0) ::umount2(mount_point_.c_str(), MNT_DETACH);
  ::rmdir(mount_point_.c_str());
  // The loop device keeps the (unlinked) image's blocks until it detaches.
  ::unlink(image_.c_str());
}

bool BuildVolume::exhausted() const { return volume_exhausted(mount_point_, bytes_); }

bool volume_exhausted(const fs::path& mount_point, std::int64_t bytes) {
  struct statvfs stats {};
  if (::statvfs(mount_point.c_str(), &stats) != 0) return false;
  auto free_bytes = static_cast<std::int64_t>(stats.f_bavail) * static_cast<std::int64_t>(stats.f_frsize);
  // A failed write leaves a little room: whatever is below one block group's
  // worth of slack counts as full.
  std::int64_t slack = std::max<std::int64_t>(std::int64_t{8} << 20, bytes / 200);
  return free_bytes < slack || stats.f_favail == 0;
}

void sweep_build_volumes(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".img") continue;
    fs::path mount_point = entry.path();
    mount_point.replace_extension();
    ::umount2(mount_point.c_str(), MNT_DETACH);
    fs::remove(entry.path(), ec);
  }
}

}  // namespace strata::engine::build
