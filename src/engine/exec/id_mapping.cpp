#include "engine/exec/id_mapping.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <fmt/format.h>

namespace strata::engine::exec {
namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::error_code(err, std::system_category()).message(); }

Result<void> write_file(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return fail("IO", fmt::format("cannot write {}: {}", path, errno_text(errno)));
  return {};
}

// A child unshares a user namespace and waits; the parent writes its maps,
// opens the namespace and kills it. The open fd keeps the namespace.
Result<UniqueFd> user_namespace_with(const sandbox::IdRange& ids) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return fail("IO", fmt::format("pipe: {}", errno_text(errno)));
  UniqueFd read_end(ready[0]), write_end(ready[1]);
  pid_t pid = ::fork();
  if (pid < 0) return fail("IO", fmt::format("fork: {}", errno_text(errno)));
  if (pid == 0) {
    if (::unshare(CLONE_NEWUSER) != 0) ::_exit(1);
    char byte = 0;
    (void)!::write(write_end.get(), &byte, 1);
    for (;;) ::pause();  // until the parent, done with the namespace, kills us
  }
  write_end.reset();
  char byte = 0;
  Result<UniqueFd> result = fail("MOUNT", "cannot create a user namespace (kernel.unprivileged_userns_clone or user.max_user_namespaces?)");
  if (::read(read_end.get(), &byte, 1) == 1) {
    std::string proc = fmt::format("/proc/{}/", pid);
    std::string map = fmt::format("0 {} {}\n", ids.host_start, ids.size);
    auto written = write_file(proc + "uid_map", map);
    if (written) written = write_file(proc + "gid_map", map);
    if (!written) {
      result = std::unexpected(written.error());
    } else {
      UniqueFd ns(::open((proc + "ns/user").c_str(), O_RDONLY | O_CLOEXEC));
      if (ns) result = std::move(ns);
      else result = fail("IO", fmt::format("cannot open {}ns/user: {}", proc, errno_text(errno)));
    }
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return result;
}

}  // namespace

Result<IdMapping> IdMapping::create(sandbox::IdRange ids) {
  auto ns = user_namespace_with(ids);
  if (!ns) return std::unexpected(ns.error());
  return IdMapping(ids, std::move(*ns));
}

Result<void> mount_idmapped(const fs::path& source, const fs::path& target, const IdMapping& mapping) {
  UniqueFd tree(static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!tree) return fail("MOUNT", fmt::format("cannot clone mount of {}: {}", source.string(), errno_text(errno)));
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<std::uint64_t>(mapping.userns_fd());
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    int err = errno;
    return fail(err == EINVAL ? "MOUNT_UNSUPPORTED" : "MOUNT",
                fmt::format("cannot idmap {}: {}", source.string(), errno_text(err)));
  }
  if (::syscall(SYS_move_mount, tree.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return fail("MOUNT", fmt::format("cannot mount idmapped {} on {}: {}", source.string(), target.string(),
                                     errno_text(errno)));
  return {};
}

Result<IdMappedView> IdMappedView::mount(const fs::path& source, const fs::path& view, const IdMapping& mapping) {
  std::error_code ec;
  fs::create_directories(view, ec);
  if (ec) return fail("IO", fmt::format("cannot create {}: {}", view.string(), ec.message()));
  if (auto mounted = mount_idmapped(source, view, mapping); !mounted) {
    fs::remove(view, ec);
    return std::unexpected(mounted.error());
  }
  return IdMappedView(source, view);
}

IdMappedView::IdMappedView(IdMappedView&& other) noexcept
    : source_(std::move(other.source_)), view_(std::exchange(other.view_, {})) {}

IdMappedView::~IdMappedView() {
  if (view_.empty()) return;
  ::umount2(view_.c_str(), MNT_DETACH);
  ::rmdir(view_.c_str());
}

}  // namespace strata::engine::exec
