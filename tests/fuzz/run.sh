#!/bin/sh
# Builds the libFuzzer target with clang and runs it for a bounded time.
#   tests/fuzz/run.sh SECONDS [BUILD_DIR]
# Exits non-zero when the fuzzer finds a crash, leak or timeout; the input that
# caused it is left in BUILD_DIR/fuzz-artifacts/.  Inputs found along the way go
# to a scratch corpus; the committed seeds in tests/fuzz/corpus are not touched.
set -eu

seconds=${1:?usage: run.sh SECONDS [BUILD_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${2:-${TMPDIR:-/tmp}/seqpipe-fuzz-build}

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$root" -Dfuzz=true -Dtests=true -Db_lundef=false
fi
ninja -C "$build" tests/fuzz/fuzz-safetensors

scratch=$(mktemp -d "${TMPDIR:-/tmp}/seqpipe-fuzz-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$build/fuzz-artifacts"
"$build/tests/fuzz/fuzz-safetensors" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -dict="$here/safetensors.dict" \
  -artifact_prefix="$build/fuzz-artifacts/" \
  -print_final_stats=1 \
  "$scratch" "$here/corpus"
