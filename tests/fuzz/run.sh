#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for its share of a bounded time.
#   tests/fuzz/run.sh SECONDS [BUILD_DIR]
# Targets (tests/fuzz/fuzz-*.c) and their shares of SECONDS: safetensors 20%, npy 15%,
# csv 20%, config 20%, checkpoint 25% (each at least 1 s).  Exits non-zero when a
# target finds a crash, leak or timeout; the input that caused it is left in
# BUILD_DIR/fuzz-artifacts/TARGET-*.  Inputs found along the way go to a scratch
# corpus per target; the committed seeds in tests/fuzz/corpus* are not touched.  Prints
# one line per target: "fuzz TARGET: ok|FAILED, N executions in S s".
set -eu

seconds=${1:?usage: run.sh SECONDS [BUILD_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${2:-${TMPDIR:-/tmp}/seqpipe-fuzz-build}

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$root" -Dfuzz=true -Dtests=true -Db_lundef=false
fi
ninja -C "$build" fuzz

scratch=$(mktemp -d "${TMPDIR:-/tmp}/seqpipe-fuzz-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$build/fuzz-artifacts"
failed=0
# target, percent of SECONDS, seed directory, dictionary, max input length
for spec in safetensors:20:corpus:safetensors.dict:4096 npy:15:corpus-npy:npy.dict:4096 \
            csv:20:corpus-csv:csv.dict:4096 config:20:corpus-config:config.dict:8192 \
            checkpoint:25:corpus-checkpoint:safetensors.dict:8192; do
  IFS=: read -r target share seeds dict maxlen <<EOS
$spec
EOS
  t=$((seconds * share / 100))
  [ "$t" -ge 1 ] || t=1
  mkdir -p "$scratch/$target"
  log="$build/fuzz-$target.log"
  rc=0
  "$build/tests/fuzz/fuzz-$target" \
    -max_total_time="$t" -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" \
    -dict="$here/$dict" \
    -artifact_prefix="$build/fuzz-artifacts/$target-" \
    -print_final_stats=1 \
    "$scratch/$target" "$here/$seeds" > "$log" 2>&1 || rc=$?
  runs=$(awk '/^stat::number_of_executed_units/ {print $2}' "$log")
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $target: ok, ${runs:-?} executions in $t s"
  else
    echo "fuzz $target: FAILED (exit $rc), ${runs:-?} executions in $t s; log: $log"
    tail -n 40 "$log"
    failed=$((failed + 1))
  fi
done
[ "$failed" -eq 0 ]
