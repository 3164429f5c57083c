#!/usr/bin/env bash
# Sets up what is missing, builds, and runs every test (unit, fuzz smoke,
# end-to-end against a real server and real clients).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"${TEST_JOBS:-2}" "$@"
