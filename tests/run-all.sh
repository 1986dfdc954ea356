#!/bin/sh
# The whole test suite: a normal build and an AddressSanitizer + UndefinedBehaviorSanitizer
# build, each running every test, then every libFuzzer target (tests/fuzz/run.sh) for a bounded time shared among them.
#   tests/run-all.sh            everything
#   FUZZ_SECONDS=0 tests/run-all.sh   skip the fuzzer
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/install-deps.sh

jobs=$(nproc)
run_suite() {  # build-dir, extra meson args...
  dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@"
  else
    meson configure "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir"
  log="$dir/test-output.txt"
  { rc=0; meson test -C "$dir" --num-processes "$jobs" --print-errorlogs || rc=$?; echo "$rc" > "$log.rc"; } \
    | tee "$log"
  status=$(cat "$log.rc")
  ok=$(awk '/^Ok:/ {print $2}' "$log")
  bad=$(awk '/^(Fail|Unexpected Pass|Timeout):/ {n += $NF} END {print n + 0}' "$log")
  passed=$((passed + ${ok:-0}))
  failed=$((failed + ${bad:-0}))
  [ "$status" -eq 0 ] || { echo "$passed passed, $failed failed"; exit "$status"; }
}
passed=0
failed=0

run_suite build
# OpenBLAS starts its worker threads when the library loads; a process that ends
# while they are still starting can make LeakSanitizer's tracer fault at exit (a
# rare SIGABRT, seen in config-error runs that end within
# milliseconds).  One BLAS thread starts none at load; [train] threads still sets them.
OPENBLAS_NUM_THREADS=1 \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-san -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

fuzz_seconds=${FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ] && [ -x tests/fuzz/run.sh ]; then
  echo "fuzzing the readers for $fuzz_seconds s in all (log: build-fuzz/fuzz.log)"
  mkdir -p build-fuzz
  if ! tests/fuzz/run.sh "$fuzz_seconds" "$top/build-fuzz" > build-fuzz.log 2>&1; then
    tail -n 60 build-fuzz.log
    echo "$passed passed, 1 failed"
    exit 1
  fi
  mv build-fuzz.log build-fuzz/fuzz.log
  grep -E '^fuzz ' build-fuzz/fuzz.log || true
  passed=$((passed + 1))
fi
echo "$passed passed, $failed failed"
