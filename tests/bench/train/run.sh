#!/bin/bash
# Training and labelling speed of the labeler demo configuration:
#   1. `seqpipe train` frames/s on cached features (the configs/labeler.ini model and
#      [train] settings, no validation) against the same loop in PyTorch
#      (bench_train.py) on the same .npy features, 1 and 2 threads;
#   2. `seqpipe run` of the trained labeler on a 720p video against
#      `ffmpeg -vf fps=10,scale=64:48 -f null -` (decoding and scaling alone).
#
#   tests/bench/train/run.sh [BUILD_DIR]        (default: build)
#   EPOCHS=N  timed epochs (default 5)
#   REPS=N    runs per figure, the best is kept (default 3)
#   CLOCK=cpu time by process CPU time instead of the wall clock (for a busy machine;
#             meaningful for the 1-thread figures only)
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${1:-$top/build}
seqpipe=$build/pipeline/seqpipe
epochs=${EPOCHS:-5}
reps=${REPS:-3}
clock=${CLOCK:-wall}
[ -x "$seqpipe" ] || { echo "seqpipe: $seqpipe: not built (ninja -C $build)" >&2; exit 1; }
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

PARTS=labeler "$top/configs/make-demo-data.sh" "$tmp/demo" > /dev/null
cat > "$tmp/bench.ini" <<INI
[pipeline]
output-dir = out
[decoder]
fps = 10
width = 64
height = 48
[model]
cell = lstm
hidden = 64
checkpoint = out/labeler.safetensors
[head]
plugin = labeler
labels = demo/labeler/labels.txt
[train]
manifest = demo/labeler/train.csv
epochs = 1
batch = 4
lr = 0.005
clip = 5.0
tbptt = 32
cache-dir = cache
[sink:csv]
path = {stem}.csv
INI
cd "$tmp"
# seconds of one command, by the chosen clock
seconds() {
  /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" > /dev/null
  if [ "$clock" = cpu ]; then awk '{ print $2 + $3 }' "$tmp/time"; else awk '{ print $1 }' "$tmp/time"; fi
}
best() { sort -g | head -n 1; }
"$seqpipe" train -q bench.ini > /dev/null            # fills the cache
frames=$($py -c "import glob, numpy; print(sum(numpy.load(f).shape[0] for f in glob.glob('cache/*.npy') if not f.endswith('.frames.npy')))")
D=$($py -c "import glob, numpy; print([numpy.load(f).shape[1] for f in glob.glob('cache/*.npy') if not f.endswith('.frames.npy')][0])")
echo "labeler demo: $frames training frames of D=$D, LSTM H=64, batch 4, tbptt 32, Adam;"
echo "$epochs timed epochs, best of $reps, clock $clock"
printf "%-8s %14s %14s %8s\n" threads "seqpipe f/s" "PyTorch f/s" ratio
for th in 1 2; do
  # the timed epochs = (best run of 1 + epochs) - (best run of 1 epoch): start-up,
  # reading the cache and the first epoch cancel
  a=$(for r in $(seq "$reps"); do
        seconds "$seqpipe" train -q bench.ini --set train.threads=$th --set train.epochs=1
      done | best)
  b=$(for r in $(seq "$reps"); do
        seconds "$seqpipe" train -q bench.ini --set train.threads=$th --set train.epochs=$((epochs + 1))
      done | best)
  sp=$(echo "$frames * $epochs / ($b - $a)" | bc -l)
  pt=$(for r in $(seq "$reps"); do
         OMP_NUM_THREADS=$th OPENBLAS_NUM_THREADS=$th $py "$top/tests/bench/train/bench_train.py" \
           cache $th $epochs 64 4 32 $clock
       done | sort -g | tail -n 1)
  printf "%-8s %14.0f %14.0f %8.2f\n" $th "$sp" "$pt" "$(echo "$sp / $pt" | bc -l)"
done

ffmpeg -hide_banner -nostdin -loglevel error -y -f lavfi -i "testsrc2=s=1280x720:r=25:d=30" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p video720.mp4
a=$(for r in $(seq "$reps"); do
      seconds "$seqpipe" run -q bench.ini --set pipeline.inputs=video720.mp4
    done | best)
b=$(for r in $(seq "$reps"); do
      seconds ffmpeg -hide_banner -nostdin -loglevel error -i video720.mp4 -vf fps=10,scale=64:48 -f null -
    done | best)
echo "720p, 30 s at 25 fps, sampled at 10 fps to 64x48, best of $reps, clock $clock:"
printf "  seqpipe run (decode, extract, label, csv)  %6.2f s\n" "$a"
printf "  ffmpeg -vf fps=10,scale=64:48 -f null -    %6.2f s\n" "$b"
printf "  speed ratio seqpipe/ffmpeg (frames per second; > 1 = faster)  %6.2f\n" \
  "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
