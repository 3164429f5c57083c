#!/usr/bin/env bash
# Installs what strata needs to build, serve and test on Debian 12, as root.
# Idempotent: apt-get runs only when a package is missing.
set -euo pipefail

BUILD_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config python3
  libboost-dev libssl-dev libsqlite3-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libcurl4-openssl-dev libarchive-dev zlib1g-dev libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang-16 libclang-rt-16-dev
)
# What `strata serve` runs builds with: runc (the default OCI runtime; serve
# refuses to start without its runtime); egress builds get their own network
# namespace, NATed by slirp4netns and filtered by nftables; each build's disk
# is an ext4 volume made by mkfs.ext4.
RUNTIME_PACKAGES=(runc slirp4netns nftables e2fsprogs)
# Real peers and clients used by the end-to-end tests and benchmarks.
# crun and runsc (gVisor) are the other OCI runtimes RUN steps can use (--runtime).
TEST_PACKAGES=(curl jq skopeo podman buildah docker-registry wrk crun runsc busybox-static)

wanted=("${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}")
if [[ "${1:-}" == "--test" ]]; then wanted+=("${TEST_PACKAGES[@]}"); fi

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# crun refuses to run containers on a cgroup v1/v2 hybrid host whose cgroup2
# hierarchy (/sys/fs/cgroup/unified) holds a controller ("cgroups in hybrid
# mode not supported, drop all controllers from cgroupv2"). A controller lands
# there when no v1 hierarchy is mounted for it (hugetlb on hosts whose init
# mounts only the common ones); mounting its v1 hierarchy moves it off cgroup2.
# Nothing to do on a pure v1 or pure v2 (unified) host.
unified=/sys/fs/cgroup/unified
if [[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" == tmpfs && -f "$unified/cgroup.controllers" ]]; then
  if [[ -n "$(cat "$unified/cgroup.subtree_control")" ]]; then
    echo "setup: cgroup2 controllers are in use ($(cat "$unified/cgroup.subtree_control")); crun will not run here" >&2
  else
    for controller in $(cat "$unified/cgroup.controllers"); do
      echo "setup: mounting the v1 $controller hierarchy at /sys/fs/cgroup/$controller (for crun)"
      mkdir -p "/sys/fs/cgroup/$controller"
      mount -t cgroup -o "$controller" cgroup "/sys/fs/cgroup/$controller"
    done
  fi
fi
