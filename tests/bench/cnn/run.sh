#!/bin/sh
# The CNN extractor's speed next to torchvision and the same run's sgemm peak.
#
#   tests/bench/cnn/run.sh [BUILD_DIR]        (default: build)
#   REPS=N       timed runs per figure (the best is reported), default 5
#   BATCH=N      frames per forward, default 16
#   OPENBLAS_CORETYPE=...  passed through (OpenBLAS's kernel choice); when the CPU
#                has AVX-512 but OpenBLAS uses other kernels (it takes AMD Zen 4 for
#                Haswell or Zen, AVX2), seqpipe is also run with
#                OPENBLAS_CORETYPE=SkylakeX and both tables are shown: oneDNN inside
#                PyTorch uses AVX-512 on its own.
#
# Figures: resnet18 (torchvision, no fc) at 112x112 and 224x224, small (channels
# 32;64;128;128) at 64x64, eval mode, frames/s including the uint8 -> float
# normalisation.  PyTorch runs under torch.no_grad(); at 2 threads the better of
# torch.set_num_threads(2) and set_num_threads(1) with OPENBLAS_NUM_THREADS=2.
# "of sgemm" = seqpipe's convolution GFLOP/s over the same run's sgemm GFLOP/s.
# Then `seqpipe run` with the cnn extractor on a 720p h264 video against ffmpeg's
# decode + scale of it: what share of the run is decoding.
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${1:-$top/build}
bench=$build/tests/bench/cnn/bench-cnn
reps=${REPS:-5}
batch=${BATCH:-16}
[ -x "$bench" ] || { echo "seqpipe: $bench: not built (ninja -C $build)" >&2; exit 1; }
py=/usr/bin/python3
have_torch=no
if [ -x $py ] && $py -c 'import torch, torchvision' 2>/dev/null; then have_torch=yes; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
core=$(OPENBLAS_VERBOSE=2 OPENBLAS_NUM_THREADS=1 "$bench" --reps 1 --sgemm-size 64 --batch 1 2>&1 \
       | sed -n 's/^Core: //p' | head -n 1)
cores=default
if [ "${core:-}" != SkylakeX ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  cores="default SkylakeX"
fi
for th in 1 2; do
  for c in $cores; do
    if [ $c = default ]; then
      OPENBLAS_NUM_THREADS=$th "$bench" --threads $th --reps "$reps" --batch "$batch" > "$tmp/c$th-$c"
    else
      OPENBLAS_CORETYPE=$c OPENBLAS_NUM_THREADS=$th "$bench" --threads $th --reps "$reps" \
        --batch "$batch" > "$tmp/c$th-$c"
    fi
  done
  if [ $have_torch = yes ]; then
    OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th \
      $py "$top/tests/bench/cnn/bench_torch.py" $th "$reps" "$batch" > "$tmp/t$th-a"
    if [ $th = 2 ]; then
      OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=1 \
        $py "$top/tests/bench/cnn/bench_torch.py" 1 "$reps" "$batch" > "$tmp/t$th-b"
    else
      : > "$tmp/t$th-b"
    fi
  else
    : > "$tmp/t$th-a"; : > "$tmp/t$th-b"
  fi
done

echo "CNN extractor, eval mode, batch $batch, best of $reps, OpenBLAS core ${core:-?}"
for c in $cores; do
  awk -v torch=$have_torch -v core=$c '
    FNR == 1 { src = FILENAME; sub(/.*\//, "", src) }
    { v[src, $1] = $2 }
    END {
      if (core != "default") printf "\nseqpipe with OPENBLAS_CORETYPE=%s:\n", core
      printf "%-16s %7s %12s %12s %8s %9s %10s\n", "figure", "threads", "seqpipe f/s", "torch f/s",
             "ratio", "GFLOP/s", "of sgemm"
      split("resnet18_112 resnet18_224 small_64", figs, " ")
      for (th = 1; th <= 2; th++) {
        c = "c" th "-" core; ta = "t" th "-a"; tb = "t" th "-b"
        printf "%-16s %7d %12s %12s %8s %9.1f %10s\n", "sgemm", th, "", "", "", v[c, "sgemm_gflops"], ""
        for (i = 1; i <= 3; i++) {
          f = figs[i]; k = f "_fps"
          t = v[ta, k]; if (v[tb, k] > t) t = v[tb, k]
          r = (torch == "yes" && t > 0) ? sprintf("%.2fx", v[c, k] / t) : "-"
          printf "%-16s %7d %12.1f %12s %8s %9.1f %9.0f%%\n", f, th, v[c, k],
                 (torch == "yes" ? sprintf("%.1f", t) : "-"), r, v[c, f "_gflops"],
                 100 * v[c, f "_gflops"] / v[c, "sgemm_gflops"]
        }
      }
      print "ratio = seqpipe frames/s / PyTorch frames/s (> 1: seqpipe is faster)"
    }' "$tmp"/c1-$c "$tmp"/c2-$c "$tmp"/t1-a "$tmp"/t1-b "$tmp"/t2-a "$tmp"/t2-b
done

# `seqpipe run` with the cnn extractor on a 720p h264 video next to ffmpeg's decoding
# and scaling of the same video to the same size: the share of decoding in the run.
# Without a weights file the net is initialised from its seed: the time is the same.
seqpipe=$build/pipeline/seqpipe
if [ -x "$seqpipe" ]; then
  cd "$tmp"
  ffmpeg -hide_banner -nostdin -loglevel error -y -f lavfi -i "testsrc2=s=1280x720:r=25:d=10" \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p video720.mp4
  seconds() {
    /usr/bin/time -f "%e" -o "$tmp/time" "$@" > /dev/null
    cat "$tmp/time"
  }
  echo
  echo "seqpipe run, cnn extractor, on 10 s of 720p h264 at 25 fps sampled at 10 fps (100 frames),"
  echo "batch $batch, best of $reps, wall clock:"
  printf "%-22s %12s %12s %16s\n" "figure" "seqpipe s" "ffmpeg s" "decode share"
  for fig in "small 64" "resnet18 224"; do
    set -- $fig
    printf "[pipeline]\ninputs = video720.mp4\noutput-dir = out\n[decoder]\nfps = 10\n" > run.ini
    printf "width = %s\nheight = %s\n[extractor]\nplugin = cnn\narch = %s\nbatch = %s\n" \
      "$2" "$2" "$1" "$batch" >> run.ini
    printf "[sink:npy]\npath = {stem}.npy\n" >> run.ini
    s=$(for i in $(seq "$reps"); do seconds "$seqpipe" run -q run.ini; done | sort -g | head -n 1)
    f=$(for i in $(seq "$reps"); do
          seconds ffmpeg -hide_banner -nostdin -loglevel error -i video720.mp4 \
            -vf "fps=10,scale=$2:$2" -pix_fmt rgb24 -f null -
        done | sort -g | head -n 1)
    awk -v n="$1 ${2}x$2" -v s="$s" -v f="$f" \
      'BEGIN { printf "%-22s %12.2f %12.2f %15.0f%%\n", n, s, f, 100 * f / s }'
  done
  echo "decode share = ffmpeg -vf fps=10,scale=WxH -pix_fmt rgb24 -f null - over seqpipe run"
fi
