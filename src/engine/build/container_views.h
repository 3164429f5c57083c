// What a build's RUN steps need to see its files from their user namespace:
// the build's IdMapping (the operator's id range) and idmapped views of the
// directories their overlays are stacked from — the shared base layers, the
// empty FROM-scratch layer and the build's own step mounts — under the work
// dir's views(). StepSnapshots mounts RUN steps' filesystems through
// mapped_access(); the executor idmaps their bind mounts with mapping().
//
// Contract: open() mounts the views (needs root); the destructor unmounts
// them. The WorkDir and Snapshotter given must outlive the object. Not
// copyable; movable. Errors: MOUNT, IO (id_mapping.h).
#pragma once

#include <vector>

#include "common/error.h"
#include "engine/build/work_dir.h"
#include "engine/exec/id_mapping.h"
#include "engine/snapshot/snapshotter.h"
#include "sandbox/sandbox_policy.h"

namespace strata::engine::build {

class ContainerViews {
 public:
  static Result<ContainerViews> open(const WorkDir& work, const snapshot::Snapshotter& snapshotter,
                                     sandbox::IdRange ids);

  const exec::IdMapping& mapping() const { return mapping_; }
  const snapshot::MappedAccess& mapped_access() const { return access_; }

 private:
  ContainerViews(exec::IdMapping mapping, std::vector<exec::IdMappedView> views, snapshot::MappedAccess access)
      : mapping_(std::move(mapping)), views_(std::move(views)), access_(std::move(access)) {}

  exec::IdMapping mapping_;
  std::vector<exec::IdMappedView> views_;
  snapshot::MappedAccess access_;
};

}  // namespace strata::engine::build
