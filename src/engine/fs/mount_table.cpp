#include "engine/fs/mount_table.h"

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

namespace strata::engine::fs {
namespace {

// Mount points from /proc/self/mountinfo (5th field, octal escapes decoded).
std::vector<std::string> mount_points() {
  std::vector<std::string> points;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::size_t pos = 0;
    for (int field = 0; field < 4 && pos != std::string::npos; ++field) pos = line.find(' ', pos + 1);
    if (pos == std::string::npos) continue;
    std::size_t end = line.find(' ', pos + 1);
    std::string_view raw = std::string_view(line).substr(pos + 1, end - pos - 1);
    std::string point;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 3 < raw.size()) {
        point += static_cast<char>((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 + (raw[i + 3] - '0'));
        i += 3;
      } else {
        point += raw[i];
      }
    }
    points.push_back(std::move(point));
  }
  return points;
}

}  // namespace

std::vector<std::string> mount_points_under(const std::filesystem::path& dir) {
  std::string prefix = dir.string() + "/";
  std::vector<std::string> under;
  for (auto& point : mount_points())
    if (point.starts_with(prefix)) under.push_back(std::move(point));
  // Deepest first, so nested mounts go before the ones they sit on.
  std::sort(under.begin(), under.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return under;
}

Result<std::size_t> unmount_all_under(const std::filesystem::path& dir) {
  auto points = mount_points_under(dir);
  for (const auto& point : points)
    if (::umount2(point.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      return fail("MOUNT", fmt::format("cannot unmount {}: {}", point,
                                       std::error_code(errno, std::system_category()).message()));
  return points.size();
}

}  // namespace strata::engine::fs
