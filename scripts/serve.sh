#!/usr/bin/env bash
# Sets up what is missing, builds, and starts `strata serve` on its embedded
# defaults (127.0.0.1:8083, data in ./strata-data). Extra arguments go to serve.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec ./build/strata serve "$@"
