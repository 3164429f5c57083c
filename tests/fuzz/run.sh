#!/usr/bin/env bash
# Builds one libFuzzer target with clang 16 and runs it for a bounded time.
#   tests/fuzz/run.sh <target> <seconds> <build dir>
# clang 16 is needed (clang 14 cannot compile libstdc++ 12's <expected>);
# libstdc++ 12 only enables <expected> when __cpp_concepts says C++20, which
# clang 16 implements but does not yet advertise, hence the define.
set -euo pipefail
target=$1 seconds=$2 out=$3/fuzz
root=$(cd "$(dirname "$0")/../.." && pwd)
case "$target" in
  jwt) sources=("$root"/src/auth/{base64url,jwt,signing_key,secrets,strict_json,access,scope}.cpp) ;;
  dockerfile) sources=("$root"/src/engine/dockerfile/*.cpp) ;;
  *) echo "unknown fuzz target $target" >&2; exit 2 ;;
esac
mkdir -p "$out/$target-corpus"
launcher=$(command -v ccache || true)
$launcher clang++-16 -std=c++2b -D__cpp_concepts=202002L -Wno-builtin-macro-redefined \
  -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root/src" "$root/tests/fuzz/${target}_fuzz.cpp" "${sources[@]}" -lcrypto \
  -o "$out/${target}_fuzz"
"$out/${target}_fuzz" -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 "$out/$target-corpus" 2>&1 | tail -n 12
