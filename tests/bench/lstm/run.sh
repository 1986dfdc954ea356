#!/bin/sh
# The recurrent core's speed next to PyTorch's nn.LSTM and the same run's sgemm peak.
#
#   tests/bench/lstm/run.sh [BUILD_DIR]        (default: build)
#   REPS=N       timed runs per figure (median), default 7
#   CLOCK=cpu    time by process CPU time (for a busy machine; 1-thread figures only)
#   OPENBLAS_CORETYPE=...  passed through to both sides (OpenBLAS's kernel choice)
#
# Shapes: T=64, B=32, D=H=512, float32.  Training = forward + backward, GFLOP/s
# counting 2*4H*(D+H)*B*T per layer forward and twice that backward.  Streaming =
# B=1 inference, one step per call.  Threads 1 and 2 (OPENBLAS_NUM_THREADS for
# both; torch.set_num_threads for PyTorch).
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${1:-$top/build}
bench=$build/tests/bench/lstm/bench-lstm
reps=${REPS:-7}
clock_arg=
[ "${CLOCK:-wall}" = cpu ] && clock_arg=--cpu-clock
[ -x "$bench" ] || { echo "seqpipe: $bench: not built (ninja -C $build)" >&2; exit 1; }
py=/usr/bin/python3
have_torch=no
if [ -x $py ] && $py -c 'import torch' 2>/dev/null; then have_torch=yes; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
core=$(OPENBLAS_VERBOSE=2 OPENBLAS_NUM_THREADS=1 "$bench" --reps 1 --sgemm-size 64 2>&1 \
       | sed -n 's/^Core: //p' | head -n 1)
for th in 1 2; do
  OPENBLAS_NUM_THREADS=$th "$bench" --threads "$th" --reps "$reps" $clock_arg > "$tmp/c$th"
  if [ $have_torch = yes ]; then
    OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th \
      $py "$top/tests/bench/lstm/bench_torch.py" "$th" "$reps" ${clock_arg:+cpu} > "$tmp/t$th"
  else
    : > "$tmp/t$th"
  fi
done

echo "LSTM T=64 B=32 D=H=512 float32, median of $reps, clock ${CLOCK:-wall}, OpenBLAS core ${core:-?}"
if [ "${core:-}" = Prescott ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
  echo "note: OpenBLAS did not recognise this CPU and uses its SSE3 kernels; try"
  echo "      OPENBLAS_CORETYPE=Haswell (AVX2) or SkylakeX (AVX-512) for both sides"
fi
awk -v torch=$have_torch '
  FNR == 1 { src = FILENAME; sub(/.*\//, "", src) }
  { v[src, $1] = $2 }
  END {
    printf "%-22s %8s %12s %12s %8s %10s\n", "figure", "threads", "seqpipe", "pytorch", "ratio", "of sgemm"
    for (th = 1; th <= 2; th++) {
      c = "c" th; t = "t" th
      printf "%-22s %8d %12.1f %12s %8s %10s\n", "sgemm GFLOP/s", th, v[c, "sgemm_gflops"], "", "", ""
      for (L = 1; L <= 2; L++) {
        k = "train_L" L "_gflops"; ms = "train_L" L "_ms"
        r = (torch == "yes" && v[t, ms] > 0) ? sprintf("%.2fx", v[t, ms] / v[c, ms]) : "-"
        printf "%-22s %8d %12.1f %12s %8s %9.0f%%\n", "train L=" L " GFLOP/s", th, v[c, k],
               (torch == "yes" ? v[t, k] : "-"), r, 100 * v[c, k] / v[c, "sgemm_gflops"]
      }
      for (L = 1; L <= 2; L++) {
        k = "stream_L" L "_us"
        r = (torch == "yes" && v[t, k] > 0) ? sprintf("%.2fx", v[t, k] / v[c, k]) : "-"
        printf "%-22s %8d %12.1f %12s %8s %10s\n", "stream L=" L " us/step", th, v[c, k],
               (torch == "yes" ? v[t, k] : "-"), r, ""
      }
    }
    print "ratio = PyTorch time / seqpipe time (> 1: seqpipe is faster)"
  }' "$tmp/c1" "$tmp/t1" "$tmp/c2" "$tmp/t2"
