#include "engine/fs/mount_table.h"

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

namespace strata::engine::fs {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int value = 0;
      auto [end, ec] = std::from_chars(field.data() + i + 1, field.data() + i + 4, value, 8);
      if (ec == std::errc() && end == field.data() + i + 4) {
        out += static_cast<char>(value);
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

std::string read_mountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
  std::vector<MountEntry> mounts;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string word; words >> word;) fields.push_back(word);
    if (fields.size() < 10) continue;
    // Six fixed fields, optional ones, "-", then type, source, super options.
    auto separator = std::find(fields.begin() + 6, fields.end(), "-");
    if (fields.end() - separator < 4) continue;
    MountEntry entry{unescape(fields[4]), *(separator + 1), {}};
    std::istringstream options(*(separator + 3));
    for (std::string option; std::getline(options, option, ',');) entry.options.push_back(option);
    mounts.push_back(std::move(entry));
  }
  return mounts;
}

std::vector<std::string> mount_points_under(const std::filesystem::path& dir) {
  std::string prefix = dir.string() + "/";
  std::vector<std::string> under;
  for (auto& mount : parse_mountinfo(read_mountinfo()))
    if (mount.point.starts_with(prefix)) under.push_back(std::move(mount.point));
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
