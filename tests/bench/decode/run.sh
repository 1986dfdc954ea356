#!/bin/bash
# Decode speed: `seqpipe run` (ffmpeg decoder -> default extractor -> npy sink) against
# `ffmpeg -threads N -i IN -vf scale=W:H -pix_fmt rgb24 -f null -` on the same 720p
# H.264 clip, at N = 1 and 2 codec threads.  For each, the median of RUNS runs of
# wall time and of CPU time (user + sys, all threads), as frames per second, and the
# ratio seqpipe/ffmpeg of each (target: wall ratio >= 0.9 on an idle machine; the CPU
# ratio says the same when other work shares the cores).
#
#   tests/bench/decode/run.sh [BUILD_DIR]        (default: build)
#   environment: W, H (default 224x224), SECONDS_OF_VIDEO (default 20), RUNS (3),
#                SEQPIPE (default BUILD_DIR/pipeline/seqpipe)
set -eu

build=${1:-build}
seqpipe=${SEQPIPE:-$build/pipeline/seqpipe}
w=${W:-224}
h=${H:-224}
dur=${SECONDS_OF_VIDEO:-20}
runs=${RUNS:-3}

[ -x "$seqpipe" ] || { echo "run.sh: no seqpipe at $seqpipe (build first or set SEQPIPE)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/seqpipe-bench-decode-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

clip=$work/clip720.mp4
ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$dur" \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 60 "$clip"
frames=$(ffprobe -v error -select_streams v:0 -count_packets \
  -show_entries stream=nb_read_packets -of default=nw=1:nk=1 "$clip")

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# "WALL CPU": medians over $runs runs of the command given
measure() {
  : > "$work/wall"
  : > "$work/cpu"
  local TIMEFORMAT='%R %U %S'
  for ((i = 0; i < runs; i++)); do
    { time "$@" > /dev/null 2> "$work/cmd.err"; } 2> "$work/t" \
      || { cat "$work/cmd.err" >&2; exit 1; }
    read -r real user sys < "$work/t"
    echo "$real" >> "$work/wall"
    echo "$user + $sys" | bc -l >> "$work/cpu"
  done
  echo "$(median < "$work/wall") $(median < "$work/cpu")"
}

run_seqpipe() {
  rm -rf "$work/out"
  "$seqpipe" run "$work/bench.ini" -q
}

rate() { echo "$frames / $1" | bc -l; }

echo "clip: 1280x720 H.264, $frames frames; scaled to ${w}x${h} RGB24; median of $runs;" \
  "load average: $(cut -d ' ' -f 1 /proc/loadavg)"
printf '%-8s %12s %12s %7s   %12s %12s %7s\n' threads "ffmpeg f/s" "seqpipe f/s" ratio \
  "ffmpeg f/cs" "seqpipe f/cs" ratio
for n in 1 2; do
  cat > "$work/bench.ini" <<INI
[pipeline]
inputs = $clip
output-dir = $work/out
jobs = 1

[decoder]
plugin = ffmpeg
fps = 0
width = $w
height = $h
threads = $n

[sink:npy]
plugin = npy
path = {stem}.npy
INI
  read -r ff_wall ff_cpu <<< "$(measure ffmpeg -nostdin -v error -threads "$n" -i "$clip" \
    -vf "scale=$w:$h" -pix_fmt rgb24 -f null -)"
  read -r sp_wall sp_cpu <<< "$(measure run_seqpipe)"
  csv=$(ls "$work"/out/clip720*frames.csv 2> /dev/null | head -n 1)
  got=$([ -n "$csv" ] && tail -n +2 "$csv" | wc -l || echo "?")
  [ "$got" = "$frames" ] || echo "run.sh: seqpipe delivered $got frames, expected $frames" >&2
  printf '%-8s %12.1f %12.1f %7.2f   %12.1f %12.1f %7.2f\n' "$n" \
    "$(rate "$ff_wall")" "$(rate "$sp_wall")" "$(echo "$ff_wall / $sp_wall" | bc -l)" \
    "$(rate "$ff_cpu")" "$(rate "$sp_cpu")" "$(echo "$ff_cpu / $sp_cpu" | bc -l)"
done
echo "(f/s: frames per wall second; f/cs: frames per CPU second)"
