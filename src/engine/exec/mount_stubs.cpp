#include "engine/exec/mount_stubs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "common/unique_fd.h"

namespace strata::engine::exec {
namespace {

// An open directory, entered without following symlinks.
class Dir {
 public:
  explicit Dir(int fd = -1) : fd_(fd) {}
  static Dir open(const std::filesystem::path& path) {
    return Dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  Dir enter(const std::string& name) const {
    return Dir(::openat(fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  bool ok() const { return fd() >= 0; }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

// The components of an absolute path; empty if it has "..", which runc
// resolves inside the rootfs but a plain walk cannot.
std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> parts;
  for (const auto& part : std::filesystem::path(path).relative_path()) {
    std::string name = part.string();
    if (name.empty() || name == ".") continue;
    if (name == "..") return {};
    parts.push_back(std::move(name));
  }
  return parts;
}

// Enters `names` one at a time; !ok() if any is missing or not a directory.
Dir walk(const std::filesystem::path& rootfs, const std::vector<std::string>& names) {
  Dir dir = Dir::open(rootfs);
  for (const auto& name : names) {
    if (!dir.ok()) break;
    dir = dir.enter(name);
  }
  return dir;
}

// Removes `name` in `parent` if it is an empty directory or an empty file.
bool remove_if_stub(const Dir& parent, const std::string& name) {
  struct stat st {};
  if (::fstatat(parent.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
  if (S_ISDIR(st.st_mode)) return ::unlinkat(parent.fd(), name.c_str(), AT_REMOVEDIR) == 0;
  if (S_ISREG(st.st_mode) && st.st_size == 0) return ::unlinkat(parent.fd(), name.c_str(), 0) == 0;
  return false;
}

}  // namespace

MountStubs MountStubs::find(const std::filesystem::path& rootfs, const std::vector<std::string>& points) {
  MountStubs found;
  found.rootfs_ = rootfs;
  for (const auto& point : points) {
    std::vector<std::string> names = components(point);
    Dir dir = Dir::open(rootfs);
    for (std::size_t i = 0; i < names.size() && dir.ok(); ++i) {
      struct stat st {};
      if (::fstatat(dir.fd(), names[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        dir = S_ISDIR(st.st_mode) ? dir.enter(names[i]) : Dir();  // a file or symlink ends the walk
        continue;
      }
      Stub stub{{names.begin(), names.begin() + i}, {names.begin() + i, names.end()}, {}};
      struct stat parent {};
      if (::fstat(dir.fd(), &parent) != 0) break;
      stub.parent_times[0] = parent.st_atim;
      stub.parent_times[1] = parent.st_mtim;
      found.stubs_.push_back(std::move(stub));
      break;
    }
  }
  return found;
}

void MountStubs::remove() const {
  // Later stubs may sit inside earlier ones' (two secrets under a new
  // /run/secrets), so undo them in reverse.
  for (auto stub = stubs_.rbegin(); stub != stubs_.rend(); ++stub) {
    Dir parent = walk(rootfs_, stub->existing);
    if (!parent.ok()) continue;
    // Open the created chain as far as it still is one, then remove upwards.
    std::vector<Dir> chain;
    chain.push_back(std::move(parent));
    for (std::size_t i = 0; i + 1 < stub->missing.size(); ++i) {
      Dir next = chain.back().enter(stub->missing[i]);
      if (!next.ok()) break;
      chain.push_back(std::move(next));
    }
    bool removed = true;
    for (std::size_t depth = chain.size(); depth-- > 0 && removed;)
      removed = remove_if_stub(chain[depth], stub->missing[depth]);
    ::futimens(chain.front().fd(), stub->parent_times);
  }
}

}  // namespace strata::engine::exec
