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
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${1:-$top/build}
seqpipe=$build/pipeline/seqpipe
epochs=${EPOCHS:-5}
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
now() { date +%s.%N; }
"$seqpipe" train -q bench.ini > /dev/null            # fills the cache
frames=$($py -c "import glob, numpy; print(sum(numpy.load(f).shape[0] for f in glob.glob('cache/*.npy') if not f.endswith('.frames.npy')))")
D=$($py -c "import glob, numpy; print([numpy.load(f).shape[1] for f in glob.glob('cache/*.npy') if not f.endswith('.frames.npy')][0])")
echo "labeler demo: $frames training frames of D=$D, LSTM H=64, batch 4, tbptt 32, Adam, $epochs timed epochs"
printf "%-8s %14s %14s %8s\n" threads "seqpipe f/s" "PyTorch f/s" ratio
for th in 1 2; do
  t0=$(now)
  "$seqpipe" train -q bench.ini --set train.threads=$th --set train.epochs=1 > /dev/null
  t1=$(now)
  "$seqpipe" train -q bench.ini --set train.threads=$th --set train.epochs=$((epochs + 1)) > /dev/null
  t2=$(now)
  sp=$(echo "$frames * $epochs / (($t2 - $t1) - ($t1 - $t0))" | bc -l)
  pt=$(OMP_NUM_THREADS=$th OPENBLAS_NUM_THREADS=$th $py "$top/tests/bench/train/bench_train.py" \
       cache $th $epochs 64 4 32)
  printf "%-8s %14.0f %14.0f %8.2f\n" $th "$sp" "$pt" "$(echo "$sp / $pt" | bc -l)"
done

ffmpeg -hide_banner -nostdin -loglevel error -y -f lavfi -i "testsrc2=s=1280x720:r=25:d=30" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p video720.mp4
t0=$(now)
"$seqpipe" run -q bench.ini --set pipeline.inputs=video720.mp4 > /dev/null
t1=$(now)
ffmpeg -hide_banner -nostdin -loglevel error -i video720.mp4 -vf fps=10,scale=64:48 -f null -
t2=$(now)
a=$(echo "$t1 - $t0" | bc -l)
b=$(echo "$t2 - $t1" | bc -l)
echo "720p, 30 s at 25 fps, sampled at 10 fps to 64x48:"
printf "  seqpipe run (decode, extract, label, csv)  %6.2f s\n" "$a"
printf "  ffmpeg -vf fps=10,scale=64:48 -f null -    %6.2f s\n" "$b"
printf "  ratio seqpipe/ffmpeg                       %6.2f\n" "$(echo "$a / $b" | bc -l)"
