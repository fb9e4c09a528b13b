#!/usr/bin/env bash
# Benchmark (not a test): the peak memory and time of `arcd process` on the
# large photos phones make, decoded at the print's size. Prints one line per
# photo. A benchmark, never a timed test: the machines are shared.
#   usage: tests/bench/photo_bench.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
arcd="$build/arcd"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The photos: a 200 MP JPEG and PNG (a phone's 200 MP mode), a 48 MP HEIC
# (an iPhone's) and WebP, all from FFmpeg's test pattern.
make() { ffmpeg -v error -f lavfi -i "testsrc2=size=$1:rate=1" -frames:v 1 "${@:2}"; }
make 16320x12240 -q:v 3 "$work/200mp.jpg"
make 16320x12240 -compression_level 1 "$work/200mp.png"
make 8064x6048 "$work/48mp.png"
heif-enc -q 80 "$work/48mp.png" -o "$work/48mp.heic" >/dev/null
cwebp -quiet -q 80 "$work/48mp.png" -o "$work/48mp.webp"
rm "$work/48mp.png"
video="$root/tests/data/sample.mp4"

printf '%-12s %10s %12s %10s %14s\n' photo "file MB" megapixels seconds "peak RSS MB"
for f in 200mp.jpg 200mp.png 48mp.heic 48mp.webp; do
  out="$work/out-$f"
  /usr/bin/time -f '%e %M' -o "$work/time" "$arcd" process --photo "$work/$f" --video "$video" \
    -o "$out" --config "$root/config/arcd.json" >"$work/json" 2>"$work/err" || {
    echo "$f: arcd process failed: $(tail -1 "$work/err")"; continue; }
  read -r secs kb <"$work/time"
  mb=$(du -m "$work/$f" | cut -f1)
  mp=$(python3 -c "import json,sys; p=json.load(open('$work/json'))['items'][0]['photo']; print(round(p['storedWidth']*p['storedHeight']/1e6,1))" 2>/dev/null || echo "?")
  printf '%-12s %10s %12s %10s %14s\n' "$f" "$mb" "$mp" "$secs" "$((kb / 1024))"
done
