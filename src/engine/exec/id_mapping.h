// The user namespace of a build's RUN steps, and idmapped mounts that present
// files to it with the right owners.
//
// A RUN step runs as container root in its own user namespace, where
// container ids 0..size-1 are the unprivileged host ids host_start.. (the
// build's IdRange). Files on disk keep the ids they have inside the image
// (layers, cache mounts, secrets are stored as if no namespace existed), so a
// layer tar needs no shifting and digests do not depend on the range. The
// container sees them through idmapped mounts (Linux 5.12+, overlayfs layers
// 5.19+): disk id i appears as host id host_start+i, which the container
// reads as i; what it writes lands on disk as i again.
//
// IdMapping holds a user namespace with that mapping, used only as the
// mapping argument of mount_setattr(MOUNT_ATTR_IDMAP); no process lives in it.
//
// Contract: IdMapping is movable, not copyable; its fd closes with it. The
// functions need root (CAP_SYS_ADMIN). Errors: MOUNT (the kernel refused;
// message names the path and the reason) or IO.
#pragma once

#include <filesystem>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"
#include "sandbox/sandbox_policy.h"

namespace strata::engine::exec {

class IdMapping {
 public:
  static Result<IdMapping> create(sandbox::IdRange ids);

  const sandbox::IdRange& ids() const { return ids_; }
  int userns_fd() const { return userns_.get(); }

 private:
  IdMapping(sandbox::IdRange ids, UniqueFd userns) : ids_(ids), userns_(std::move(userns)) {}

  sandbox::IdRange ids_;
  UniqueFd userns_;
};

// Mounts an idmapped view of `source` (a directory or a file) on `target`
// (an existing directory or file of the same kind). Not recursive: mounts
// below `source` are not part of the view. MOUNT_UNSUPPORTED when the
// source's filesystem cannot be idmapped (overlayfs itself cannot).
Result<void> mount_idmapped(const std::filesystem::path& source, const std::filesystem::path& target,
                            const IdMapping& mapping);

// An idmapped view of a directory tree at `view`, unmounted (lazily) and
// its mount point removed when the object goes.
class IdMappedView {
 public:
  static Result<IdMappedView> mount(const std::filesystem::path& source, const std::filesystem::path& view,
                                    const IdMapping& mapping);
  IdMappedView(IdMappedView&& other) noexcept;
  IdMappedView& operator=(IdMappedView&&) = delete;
  ~IdMappedView();

  const std::filesystem::path& source() const { return source_; }
  const std::filesystem::path& view() const { return view_; }

 private:
  IdMappedView(std::filesystem::path source, std::filesystem::path view)
      : source_(std::move(source)), view_(std::move(view)) {}

  std::filesystem::path source_, view_;
};

}  // namespace strata::engine::exec
