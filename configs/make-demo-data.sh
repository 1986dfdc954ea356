#!/bin/bash
# make-demo-data.sh OUTDIR — synthetic data for the example configs, made with ffmpeg's
# lavfi sources, with known labels:
#
#   OUTDIR/labeler/     videos whose segments come from visibly different sources
#                       (classes: bars, testcard, fractal, box, noise), 25 fps native,
#                       a label file per video (.txt per native frame, or .csv segments);
#                       train.csv, val.csv, test.csv (path,labels); heldout.mp4 is test's
#   OUTDIR/classifier/  one clip per row, a single source per clip with random colour
#                       and brightness shifts; train.csv, val.csv, test.csv (path,label)
#   OUTDIR/captioner/   images of a coloured square or bar at a position over a
#                       background, two captions each ("a red square on the left");
#                       train.csv, val.csv, test.csv (path,caption); test.csv also
#                       names a few held-out videos of such a shape drifting
#
# SMALL=1 makes a smaller set (for tests); PARTS="labeler classifier captioner" chooses
# what to make (default all).  Deterministic for a given ffmpeg build.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 1
fi
OUT=$1
SMALL=${SMALL:-0}
PARTS=${PARTS:-labeler classifier captioner}
SIZE=160x120
FPS=25
FF="ffmpeg -hide_banner -nostdin -loglevel error -y"
ENC="-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25"
RANDOM=7

CLASSES=(bars testcard fractal box noise)
COLOURS=(red green blue yellow white magenta)

# source CLASS SECONDS -> a lavfi source graph of that class
source_of() {
  local c=$1 d=$2 col=${COLOURS[$((RANDOM % 6))]} hue=$((RANDOM % 360 - 180))
  case $c in
    bars) echo "smptebars=s=$SIZE:r=$FPS:d=$d,hue=h=$((hue / 6))" ;;
    testcard) echo "testsrc2=s=$SIZE:r=$FPS:d=$d,hue=h=$((hue / 6))" ;;
    fractal) echo "mandelbrot=s=$SIZE:r=$FPS:end_scale=$((RANDOM % 3 + 1)),trim=duration=$d,hue=h=$hue" ;;
    box) echo "color=c=0x$(printf '%02x%02x%02x' $((RANDOM % 90)) $((RANDOM % 90)) $((RANDOM % 90))):s=$SIZE:r=$FPS:d=$d,drawbox=x='mod(t*$((RANDOM % 60 + 30)),120)':y=$((RANDOM % 60 + 10)):w=40:h=40:color=$col:t=fill" ;;
    noise) echo "color=c=gray:s=$SIZE:r=$FPS:d=$d,noise=alls=$((RANDOM % 40 + 50)):allf=t+u,hue=h=$hue:s=$((RANDOM % 3))" ;;
  esac
}

# labeler_video NAME EXT SEGMENTS -> NAME.mp4 and its label file NAME.EXT (txt|csv)
labeler_video() {
  local name=$1 ext=$2 nseg=$3 graph="" inputs="" k=0 t=0 prev=-1 c d
  local labels="$OUT/labeler/$name.$ext"
  [ "$ext" = csv ] && echo "start,end,label" > "$labels" || : > "$labels"
  for ((k = 0; k < nseg; k++)); do
    c=$((RANDOM % 5))
    while [ $c -eq $prev ]; do c=$((RANDOM % 5)); done
    prev=$c
    d=$((RANDOM % 3 + 2))
    graph="$graph$(source_of ${CLASSES[$c]} $d),format=yuv420p,setsar=1[s$k];"
    inputs="$inputs[s$k]"
    if [ "$ext" = csv ]; then
      echo "$t,$((t + d)),${CLASSES[$c]}" >> "$labels"
    else
      for ((f = 0; f < d * FPS; f++)); do echo "${CLASSES[$c]}"; done >> "$labels"
    fi
    t=$((t + d))
  done
  $FF -filter_complex "${graph}${inputs}concat=n=$nseg:v=1:a=0[v]" -map "[v]" $ENC \
    "$OUT/labeler/$name.mp4"
}

make_labeler() {
  mkdir -p "$OUT/labeler"
  local n_train=8 n_val=2 nseg=10
  [ "$SMALL" = 1 ] && n_train=3 n_val=1 nseg=5
  printf '%s\n' "${CLASSES[@]}" > "$OUT/labeler/labels.txt"
  echo "path,labels" > "$OUT/labeler/train.csv"
  echo "path,labels" > "$OUT/labeler/val.csv"
  echo "path,labels" > "$OUT/labeler/test.csv"
  for ((i = 0; i < n_train; i++)); do
    local ext=txt
    [ $((i % 2)) = 1 ] && ext=csv
    labeler_video "train-$i" $ext $nseg
    echo "train-$i.mp4,train-$i.$ext" >> "$OUT/labeler/train.csv"
  done
  for ((i = 0; i < n_val; i++)); do
    labeler_video "val-$i" csv $nseg
    echo "val-$i.mp4,val-$i.csv" >> "$OUT/labeler/val.csv"
  done
  labeler_video heldout txt $nseg
  echo "heldout.mp4,heldout.txt" >> "$OUT/labeler/test.csv"
}

make_classifier() {
  mkdir -p "$OUT/classifier"
  local per=(8 2 3) sets=(train val test) graph maps k
  [ "$SMALL" = 1 ] && per=(3 1 2)
  for s in 0 1 2; do
    echo "path,label" > "$OUT/classifier/${sets[$s]}.csv"
    graph="" maps=() k=0
    for c in "${CLASSES[@]}"; do
      for ((i = 0; i < ${per[$s]}; i++)); do
        local name="${sets[$s]}-$c-$i.mp4" d=$((RANDOM % 2 + 2))
        graph="$graph$(source_of $c $d),eq=brightness=0.$((RANDOM % 3)),format=yuv420p[v$k];"
        maps+=(-map "[v$k]" $ENC "$OUT/classifier/$name")
        echo "$name,$c" >> "$OUT/classifier/${sets[$s]}.csv"
        k=$((k + 1))
      done
    done
    $FF -filter_complex "${graph%;}" "${maps[@]}"
  done
}

# caption_shape -> picks a random shape and sets BG, BOX (drawbox options) and CAPS
# ("c1|c2", e.g. "a red square on the left|red square left")
caption_shape() {
  local col=${COLOURS[$((RANDOM % 4))]} shape=$((RANDOM % 2)) pos=$((RANDOM % 4))
  local bgs=(black gray 0x303060) w h x y j=$((RANDOM % 9 - 4))
  local names=(square bar) places=("on the left" "on the right" "at the top" "at the bottom")
  local short=(left right top bottom)
  BG=${bgs[$((RANDOM % 3))]}
  if [ $shape = 0 ]; then w=36 h=36; else w=60 h=16; fi
  case $pos in
    0) x=$((6 + j)) y=$(((96 - h) / 2 + j)) ; [ $shape = 1 ] && w=16 h=60 && y=$((18 + j)) ;;
    1) x=$((96 - w - 6 + j)) y=$(((96 - h) / 2 + j)) ; [ $shape = 1 ] && w=16 h=60 && x=$((74 + j)) && y=$((18 + j)) ;;
    2) x=$(((96 - w) / 2 + j)) y=$((6 + j)) ;;
    3) x=$(((96 - w) / 2 + j)) y=$((96 - h - 6 + j)) ;;
  esac
  BOX="x=$x:y=$y:w=$w:h=$h:color=$col:t=fill"
  CAPS="a $col ${names[$shape]} ${places[$pos]}|$col ${names[$shape]} ${short[$pos]}"
}

# caption_set NAME COUNT -> NAME-0.png ... and NAME.csv, with one ffmpeg run
caption_set() {
  local name=$1 count=$2 graph="" maps=() i
  local csv="$OUT/captioner/$name.csv"
  echo "path,caption" > "$csv"
  for ((i = 0; i < count; i++)); do
    caption_shape
    graph="$graph color=c=$BG:s=96x96:d=0.04,drawbox=$BOX[o$i];"
    maps+=(-map "[o$i]" -frames:v 1 "$OUT/captioner/$name-$i.png")
    echo "$name-$i.png,${CAPS%%|*}" >> "$csv"
    echo "$name-$i.png,${CAPS##*|}" >> "$csv"
  done
  $FF -filter_complex "${graph%;}" "${maps[@]}"
}

# caption_videos COUNT -> heldout-video-K.mp4 (2 s, the shape drifting a few pixels),
# appended to test.csv: a video is captioned from its frames' mean features
caption_videos() {
  local count=$1 graph="" maps=() i
  for ((i = 0; i < count; i++)); do
    caption_shape
    BOX=$(echo "$BOX" | sed 's/x=\([0-9-]*\)/x=\1+2*sin(t*3)/')
    graph="$graph color=c=$BG:s=96x96:r=10:d=2,drawbox=$BOX,format=yuv420p[v$i];"
    maps+=(-map "[v$i]" $ENC "$OUT/captioner/heldout-video-$i.mp4")
    echo "heldout-video-$i.mp4,${CAPS%%|*}" >> "$OUT/captioner/test.csv"
    echo "heldout-video-$i.mp4,${CAPS##*|}" >> "$OUT/captioner/test.csv"
  done
  $FF -filter_complex "${graph%;}" "${maps[@]}"
}

make_captioner() {
  mkdir -p "$OUT/captioner"
  local per=(160 24 40) sets=(train val test) videos=4
  [ "$SMALL" = 1 ] && per=(48 8 12) videos=2
  for s in 0 1 2; do
    caption_set ${sets[$s]} ${per[$s]}
  done
  caption_videos $videos
}

mkdir -p "$OUT"
for part in $PARTS; do
  case $part in
    labeler | classifier | captioner) "make_$part" ;;
    *) echo "$0: unknown part $part" >&2; exit 1 ;;
  esac
done
echo "demo data in $OUT"
