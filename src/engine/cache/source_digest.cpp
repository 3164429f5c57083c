#include "engine/cache/source_digest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/unique_fd.h"
#include "engine/fs/source_selection.h"
#include "engine/layer/file_descriptor.h"

namespace strata::engine::cache {
namespace {

namespace stdfs = std::filesystem;

Result<std::string> file_digest(const stdfs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return layer::errno_error("cannot read", path.string());
  oci::Digester digester;
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return layer::errno_error("cannot read", path.string());
    if (n == 0) break;
    digester.update(buffer, static_cast<std::size_t>(n));
  }
  return digester.finish().str();
}

Result<std::string> link_target(const stdfs::path& path) {
  std::error_code ec;
  auto target = stdfs::read_symlink(path, ec);
  if (ec) return fail("IO", fmt::format("cannot read link {}: {}", path.string(), ec.message()));
  return target.string();
}

// One line per entry; names are framed by their length so no name can
// forge the line of another entry.
Result<std::string> entry_line(const stdfs::path& path, const std::string& rel, const struct stat& st) {
  std::string what;
  if (S_ISREG(st.st_mode)) {
    auto digest = file_digest(path);
    if (!digest) return std::unexpected(digest.error());
    what = *digest;
  } else if (S_ISLNK(st.st_mode)) {
    auto target = link_target(path);
    if (!target) return std::unexpected(target.error());
    what = fmt::format("{}:{}", target->size(), *target);
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    what = fmt::format("{},{}", major(st.st_rdev), minor(st.st_rdev));
  }
  return fmt::format("{}:{} {:o} {} {} {}\n", rel.size(), rel, st.st_mode, st.st_uid, st.st_gid, what);
}

}  // namespace

Result<oci::Digest> source_digest(const stdfs::path& root, std::string_view pattern, bool is_context,
                                  const dockerfile::IgnoreRules* ignore) {
  auto opened = fs::ImageRoot::open(root);
  if (!opened) return std::unexpected(opened.error());
  auto selected = fs::select_sources(*opened, pattern, is_context, ignore);
  if (!selected) return std::unexpected(selected.error());
  oci::Digester digester;
  for (const auto& source : *selected) {
    digester.update(fmt::format("match {}:{} {}:{}\n", source.name.size(), source.name, source.real.size(),
                                source.real));
    stdfs::path item = root / source.real;
    for (const auto& entry : source.entries) {
      auto line = entry_line(entry.rel.empty() ? item : item / entry.rel, entry.rel, entry.st);
      if (!line) return std::unexpected(line.error());
      digester.update(*line);
    }
  }
  return digester.finish();
}

}  // namespace strata::engine::cache
