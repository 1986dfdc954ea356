#!/bin/bash
# Decode speed: `seqpipe run` (ffmpeg decoder -> default extractor -> npy sink) against
# `ffmpeg -threads N -i IN -vf scale=W:H -pix_fmt rgb24 -f null -` on the same 720p
# H.264 clip, at N = 1 and 2 codec threads.  For each, the median of RUNS runs of
# wall time and of CPU time (user + sys, all threads), as frames per second, and the
# ratio seqpipe/ffmpeg of each (target: wall ratio >= 0.9 on an idle machine; the CPU
# ratio says the same when other work shares the cores).
#
# Then sampling, where seqpipe leaves undecoded the frames nothing refers to that
# it will not deliver: `seqpipe run` at fps = F (1, 5, 10) on a 720p 30 fps H.264
# clip with B-pyramids in long GOPs and on a 720p MPEG-4 part 2 clip with B-frames,
# against the ffmpeg tool's sampled pipeline
#   ffmpeg -threads N -i IN -vf fps=F,scale=W:H -pix_fmt rgb24 -f null -
# and its decode-only rate `ffmpeg -threads N -i IN -f null -`, N = 1 and 2; the best
# (shortest wall time) of RUNS runs each, printed as speed ratios seqpipe/ffmpeg
# (targets: >= 1.5 against the sampled pipeline at fps = 5, >= 1.0 against decoding
# only at fps = 10), by wall time and by CPU time (the fairer one when other work
# shares the cores).  Also ffmpeg -skip_frame noref -f null: how fast decoding gets
# when every non-reference frame is dropped, the bound of what skipping can reach.
#
#   tests/bench/decode/run.sh [BUILD_DIR]        (default: build)
#   environment: W, H (default 224x224), SECONDS_OF_VIDEO (default 20), RUNS (3),
#                SEQPIPE (default BUILD_DIR/pipeline/seqpipe),
#                PARTS ("full sampled", or one of them)
set -eu

build=${1:-build}
seqpipe=${SEQPIPE:-$build/pipeline/seqpipe}
w=${W:-224}
h=${H:-224}
dur=${SECONDS_OF_VIDEO:-20}
runs=${RUNS:-3}
parts=${PARTS:-full sampled}

[ -x "$seqpipe" ] || { echo "run.sh: no seqpipe at $seqpipe (build first or set SEQPIPE)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/seqpipe-bench-decode-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

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

# the config of one seqpipe run: $1 input, $2 fps, $3 threads
write_config() {
  cat > "$work/bench.ini" <<INI
[pipeline]
inputs = $1
output-dir = $work/out
jobs = 1

[decoder]
plugin = ffmpeg
fps = $2
width = $w
height = $h
threads = $3

[sink:npy]
plugin = npy
path = {stem}.npy
INI
}

count_packets() {
  ffprobe -v error -select_streams v:0 -count_packets \
    -show_entries stream=nb_read_packets -of default=nw=1:nk=1 "$1"
}

# "WALL CPU": the shortest wall time and the smallest CPU time (user + sys) of $runs
# runs of the command given
best() {
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
  echo "$(sort -g "$work/wall" | head -n 1) $(sort -g "$work/cpu" | head -n 1)"
}

# frames seqpipe delivered in the last run
delivered() {
  local csv
  csv=$(ls "$work"/out/*frames.csv 2> /dev/null | head -n 1)
  [ -n "$csv" ] && tail -n +2 "$csv" | wc -l || echo "?"
}

full() {
clip=$work/clip720.mp4
ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$dur" \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 60 "$clip"
frames=$(count_packets "$clip")

echo "clip: 1280x720 H.264, $frames frames; scaled to ${w}x${h} RGB24; median of $runs;" \
  "load average: $(cut -d ' ' -f 1 /proc/loadavg)"
printf '%-8s %12s %12s %7s   %12s %12s %7s\n' threads "ffmpeg f/s" "seqpipe f/s" ratio \
  "ffmpeg f/cs" "seqpipe f/cs" ratio
for n in 1 2; do
  write_config "$clip" 0 "$n"
  read -r ff_wall ff_cpu <<< "$(measure ffmpeg -nostdin -v error -threads "$n" -i "$clip" \
    -vf "scale=$w:$h" -pix_fmt rgb24 -f null -)"
  read -r sp_wall sp_cpu <<< "$(measure run_seqpipe)"
  got=$(delivered)
  [ "$got" = "$frames" ] || echo "run.sh: seqpipe delivered $got frames, expected $frames" >&2
  printf '%-8s %12.1f %12.1f %7.2f   %12.1f %12.1f %7.2f\n' "$n" \
    "$(rate "$ff_wall")" "$(rate "$sp_wall")" "$(echo "$ff_wall / $sp_wall" | bc -l)" \
    "$(rate "$ff_cpu")" "$(rate "$sp_cpu")" "$(echo "$ff_cpu / $sp_cpu" | bc -l)"
done
echo "(f/s: frames per wall second; f/cs: frames per CPU second)"
}

sampled() {
  local h264=$work/pyramid720.mp4 mpeg4=$work/mpeg4-720.mp4
  ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$dur" \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 250 \
    -x264-params bframes=3:b-pyramid=normal "$h264"
  ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$dur" \
    -c:v mpeg4 -q:v 4 -g 250 -bf 2 "$mpeg4"
  echo
  echo "sampled: 720p 30 fps, $dur s; scaled to ${w}x${h} RGB24; best of $runs;" \
    "load average: $(cut -d ' ' -f 1 /proc/loadavg)"
  echo "speed ratios seqpipe/ffmpeg: 'sampled' against -vf fps=F,scale, 'decode' against" \
    "-f null, by wall and by CPU time; 'noref s': ffmpeg -skip_frame noref -f null, the"
  echo "decode time no skipping of non-reference frames can go below (wall)"
  printf '%-6s %3s %3s %8s %8s %8s %8s %6s %8s %8s %8s %8s\n' clip thr fps "ffdec s" \
    "noref s" "ffsamp s" "seqp s" frames "sampled" "decode" "cpu:smp" "cpu:dec"
  for clip in "$h264" "$mpeg4"; do
    local codec
    codec=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name \
      -of default=nw=1:nk=1 "$clip")
    for n in 1 2; do
      local dec dec_cpu noref noref_cpu
      read -r dec dec_cpu <<< "$(best ffmpeg -nostdin -v error -threads "$n" -i "$clip" -f null -)"
      read -r noref noref_cpu <<< "$(best ffmpeg -nostdin -v error -threads "$n" \
        -skip_frame noref -i "$clip" -f null -)"
      for f in 1 5 10; do
        write_config "$clip" "$f" "$n"
        local samp samp_cpu sp sp_cpu
        read -r samp samp_cpu <<< "$(best ffmpeg -nostdin -v error -threads "$n" -i "$clip" \
          -vf "fps=$f,scale=$w:$h" -pix_fmt rgb24 -f null -)"
        read -r sp sp_cpu <<< "$(best run_seqpipe)"
        printf '%-6s %3s %3s %8.2f %8.2f %8.2f %8.2f %6s %8.2f %8.2f %8.2f %8.2f\n' \
          "$codec" "$n" "$f" "$dec" "$noref" "$samp" "$sp" "$(delivered)" \
          "$(echo "$samp / $sp" | bc -l)" "$(echo "$dec / $sp" | bc -l)" \
          "$(echo "$samp_cpu / $sp_cpu" | bc -l)" "$(echo "$dec_cpu / $sp_cpu" | bc -l)"
      done
    done
  done
}

for part in $parts; do
  case $part in
    full) full ;;
    sampled) sampled ;;
    *) echo "run.sh: unknown part $part (full, sampled)" >&2; exit 1 ;;
  esac
done
