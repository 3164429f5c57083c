#include "builds/context_space.h"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace strata::builds {
namespace fs = std::filesystem;

namespace {

bool is_tmpfs(const fs::path& dir) {
  struct statfs info{};
  return ::statfs(dir.c_str(), &info) == 0 && info.f_type == TMPFS_MAGIC;
}

}  // namespace

std::uint64_t context_space_bytes(std::size_t concurrent, std::uint64_t max_context_bytes) {
  std::uint64_t memory = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                         static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return std::min<std::uint64_t>(memory / 2, (concurrent + 2) * max_context_bytes);
}

Result<bool> prepare_context_space(const fs::path& dir, std::uint64_t bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("IO", fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    fs::remove_all(entry.path(), ec);
    if (ec) return fail("IO", fmt::format("cannot empty {}: {}", dir.string(), ec.message()));
  }
  if (ec) return fail("IO", fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  if (is_tmpfs(dir)) return true;
  // No noexec: a RUN may execute context files through a bind mount.
  std::string options = fmt::format("size={},mode=0700", bytes);
  if (::mount("strata-contexts", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    spdlog::info("build contexts stay on disk in {} (no tmpfs: {})", dir.string(), std::strerror(errno));
    return false;
  }
  return true;
}

void release_context_space(const fs::path& dir) {
  if (is_tmpfs(dir) && ::umount2(dir.c_str(), MNT_DETACH) != 0)
    spdlog::warn("cannot unmount the build context tmpfs {}: {}", dir.string(), std::strerror(errno));
}

}  // namespace strata::builds
