#!/bin/sh
# Installs what seqpipe needs to build, test and run its demo on Debian 12.
# Does nothing when everything is already there.
set -eu
pkgs="meson ninja-build pkg-config gcc clang libclang-rt-14-dev
      libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
      libglib2.0-dev libopenblas-dev libstb-dev ffmpeg bc
      python3-torch python3-torchvision python3-numpy
      chromium libxml2-utils"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing:$missing"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
