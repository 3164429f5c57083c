// Mount points that runc creates on a step's root filesystem (a secret's
// /run/secrets/<id>, a cache mount's target, /proc on a FROM scratch rootfs)
// would otherwise end up in the step's layer. MountStubs remembers which
// parts of those paths were missing before the run and removes them after it,
// as BuildKit's mount stub cleaner does, restoring the times of the directory
// they were created in so that it reads as unchanged.
//
// Contract: both calls walk the rootfs with O_NOFOLLOW one component at a
// time, so a symlink planted by the step can never redirect them to the host;
// paths under a symlink are not tracked. remove() deletes only empty
// directories and empty regular files, never what the step put there. Not
// thread-safe; one instance per run.
#pragma once

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

namespace strata::engine::exec {

class MountStubs {
 public:
  // Records, for each absolute `point` under `rootfs`, its missing components.
  static MountStubs find(const std::filesystem::path& rootfs, const std::vector<std::string>& points);

  // Removes the recorded components that are still stubs, deepest first.
  void remove() const;

 private:
  struct Stub {
    std::vector<std::string> existing;  // components that were there
    std::vector<std::string> missing;   // components runc will create
    timespec parent_times[2];           // atime, mtime of the last existing one
  };

  std::filesystem::path rootfs_;
  std::vector<Stub> stubs_;
};

}  // namespace strata::engine::exec
