#!/bin/sh
# The labeler demo from a fresh checkout: installs what is missing, builds seqpipe in
# build/, makes the demo data in demo/, trains the labeler on it, and labels the
# held-out video into out/labeler/ (CSV with probabilities, segments, SRT, timeline PNG).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
seqpipe=build/pipeline/seqpipe

[ -f demo/labeler/heldout.mp4 ] || PARTS=labeler configs/make-demo-data.sh demo
"$seqpipe" train configs/labeler.ini
"$seqpipe" eval configs/labeler.ini --metrics-out out/labeler/metrics.json
"$seqpipe" run configs/labeler.ini --set pipeline.manifest= \
  --set pipeline.inputs=demo/labeler/heldout.mp4
echo
echo "demo: labels of demo/labeler/heldout.mp4 are in $top/out/labeler/:"
ls -1 out/labeler/heldout.*
