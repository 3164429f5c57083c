// USER resolution as moby/sys/user's GetExecUser does it: the first passwd
// entry whose name or uid matches wins; an explicit group replaces the
// primary group and suppresses the supplementary ones.
#include "engine/fs/user.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

#include "common/text.h"
#include "engine/fs/image_root.h"

namespace strata::engine::fs {
namespace {

// Docker's bound: ids above it are rejected ("uids and gids must be in range").
constexpr std::uint32_t kMaxId = 2147483647;

struct PasswdEntry {
  std::string name;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
};

struct GroupEntry {
  std::string name;
  std::uint32_t gid = 0;
  std::vector<std::string> members;
};

// A number in the passwd/group sense; std::nullopt for names.
std::optional<std::uint64_t> parse_id(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// The file's contents, or std::nullopt when the image has no such file.
Result<std::optional<std::string>> read_image_file(const ImageRoot& root, const std::string& rel) {
  auto fd = root.open(rel, O_RDONLY);
  if (!fd) return std::unexpected(fd.error());
  if (!*fd) return std::optional<std::string>();
  std::string content;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd->value().get(), buffer, sizeof buffer);
    if (n == 0) return std::optional<std::string>(std::move(content));
    if (n < 0) {
      if (errno == EINTR) continue;
      return layer::errno_error("read", "/" + rel);
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
}

// Lines of a colon-separated database, without comments, blanks and NIS
// "+"/"-" entries, split into fields; lines with fewer than `min_fields` or
// unreadable ids are skipped, as libc does.
template <class Entry, class Parse>
std::vector<Entry> parse_database(std::string_view content, Parse parse) {
  std::vector<Entry> entries;
  for (auto line : split(content, '\n')) {
    line = trim(line);
    if (line.empty() || line.starts_with('#') || line.starts_with('+') || line.starts_with('-')) continue;
    if (auto entry = parse(split(line, ':'))) entries.push_back(std::move(*entry));
  }
  return entries;
}

std::vector<PasswdEntry> parse_passwd(std::string_view content) {
  return parse_database<PasswdEntry>(content, [](const std::vector<std::string_view>& f) -> std::optional<PasswdEntry> {
    if (f.size() < 4) return std::nullopt;
    auto uid = parse_id(f[2]), gid = parse_id(f[3]);
    if (!uid || !gid || *uid > kMaxId || *gid > kMaxId) return std::nullopt;
    return PasswdEntry{std::string(f[0]), static_cast<std::uint32_t>(*uid), static_cast<std::uint32_t>(*gid)};
  });
}

std::vector<GroupEntry> parse_group(std::string_view content) {
  return parse_database<GroupEntry>(content, [](const std::vector<std::string_view>& f) -> std::optional<GroupEntry> {
    if (f.size() < 3) return std::nullopt;
    auto gid = parse_id(f[2]);
    if (!gid || *gid > kMaxId) return std::nullopt;
    GroupEntry group{std::string(f[0]), static_cast<std::uint32_t>(*gid), {}};
    if (f.size() > 3 && !f[3].empty())
      for (auto member : split(f[3], ',')) group.members.emplace_back(trim(member));
    return group;
  });
}

Result<std::uint32_t> checked_id(std::string_view text, std::uint64_t id) {
  if (id > kMaxId)
    return fail("USER_INVALID", "uids and gids must be in range 0-" + std::to_string(kMaxId), std::string(text));
  return static_cast<std::uint32_t>(id);
}

}  // namespace

Result<ResolvedUser> resolve_user(const std::filesystem::path& rootfs, std::string_view spec) {
  auto parts = split(spec, ':');
  if (parts.size() > 2 || parts[0].empty() || (parts.size() == 2 && parts[1].empty()))
    return fail("USER_INVALID", "invalid user specification (want user, user:group, uid or uid:gid)",
                std::string(spec));
  std::string_view user_arg = parts[0];
  std::optional<std::string_view> group_arg;
  if (parts.size() == 2) group_arg = parts[1];

  auto root = ImageRoot::open(rootfs);
  if (!root) return std::unexpected(root.error());
  auto passwd = read_image_file(*root, "etc/passwd");
  if (!passwd) return std::unexpected(passwd.error());

  ResolvedUser user;
  std::string user_name;
  auto numeric_uid = parse_id(user_arg);
  std::optional<PasswdEntry> found;
  if (*passwd)
    for (auto& entry : parse_passwd(**passwd))
      if (entry.name == user_arg || (numeric_uid && entry.uid == *numeric_uid)) {
        found = std::move(entry);
        break;
      }
  if (found) {
    user.owner = {found->uid, found->gid};
    user_name = found->name;
  } else if (numeric_uid) {
    auto uid = checked_id(user_arg, *numeric_uid);
    if (!uid) return std::unexpected(uid.error());
    user.owner = {*uid, 0};
  } else {
    return fail("USER_UNKNOWN",
                "unable to find user " + std::string(user_arg) + ": no matching entries in passwd file");
  }

  // A numeric group needs no group file; anything else does.
  auto numeric_gid = group_arg ? parse_id(*group_arg) : std::nullopt;
  if (group_arg && numeric_gid) {
    auto gid = checked_id(*group_arg, *numeric_gid);
    if (!gid) return std::unexpected(gid.error());
    user.owner.gid = *gid;
    return user;
  }
  auto group_file = read_image_file(*root, "etc/group");
  if (!group_file) return std::unexpected(group_file.error());
  auto groups = *group_file ? parse_group(**group_file) : std::vector<GroupEntry>{};
  if (group_arg) {
    auto it = std::ranges::find_if(groups, [&](const GroupEntry& g) { return g.name == *group_arg; });
    if (it == groups.end())
      return fail("GROUP_UNKNOWN",
                  "unable to find group " + std::string(*group_arg) + ": no matching entries in group file");
    user.owner.gid = it->gid;
    return user;
  }
  if (user_name.empty()) return user;
  for (const auto& group : groups)
    if (std::ranges::find(group.members, user_name) != group.members.end() &&
        std::ranges::find(user.additional_gids, group.gid) == user.additional_gids.end())
      user.additional_gids.push_back(group.gid);
  return user;
}

}  // namespace strata::engine::fs
