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
# What `strata serve` runs builds with: egress builds get their own network
# namespace, NATed by slirp4netns and filtered by nftables.
RUNTIME_PACKAGES=(slirp4netns nftables)
# Real peers and clients used by the end-to-end tests and benchmarks.
TEST_PACKAGES=(curl jq skopeo podman buildah docker-registry wrk runc busybox-static)

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
