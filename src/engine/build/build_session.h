// What every step of one build shares: its config, work dir, snapshots, OCI
// runtime executor, the cgroup holding its limits, network, address policy,
// registries, image puller, log, cancellation, build cache and cache mount
// volumes. Plain aggregate of
// references; the solver owns the objects and outlives every step.
#pragma once

#include "engine/build/build_config.h"
#include "engine/build/build_log.h"
#include "engine/build/cache_mount_volumes.h"
#include "engine/build/cancellation.h"
#include "engine/build/image_puller.h"
#include "engine/build/step_cache.h"
#include "engine/build/step_snapshots.h"
#include "engine/build/work_dir.h"
#include "engine/dockerfile/dockerignore.h"
#include "engine/exec/build_cgroup.h"
#include "engine/exec/build_network.h"
#include "engine/exec/oci_runtime_executor.h"
#include "sandbox/address_policy.h"

namespace strata::engine::build {

struct BuildSession {
  const BuildConfig& config;
  const WorkDir& work;
  StepSnapshots& snapshots;
  const exec::OciRuntimeExecutor& executor;
  exec::BuildCgroup& cgroup;  // RUN containers go below it
  exec::BuildNetwork& network;
  // Where the build may connect (egress steps' firewall, ADD URLs), resolved
  // when the build started.
  const sandbox::AddressPolicy& addresses;
  ImagePuller& images;
  BuildLog& log;
  const Cancellation& cancel;
  const dockerfile::IgnoreRules& ignore;  // the context's .dockerignore
  StepCache& cache;
  CacheMountVolumes& cache_mounts;  // RUN --mount=type=cache roots, per scope
};

}  // namespace strata::engine::build
