#!/usr/bin/env bash
# Whole-job benchmark: what one upload costs a worker, stage by stage, for a
# 1920x1920 photo with a 10 s 720p video (the issue's case), through
# `arcd process` (the worker's pipeline without the database).
#
#   tests/bench/job_bench.sh            ARCD_BENCH_RUNS=N (default 3, the median counts)
#   ARCD_BENCH_REF=0                    skip the reference runs (they take minutes)
#
# Two videos: one that must be re-encoded (H.264 High, a keyframe every 250
# frames, like a phone's), and one already fit for the web (Main, 1 s GOP),
# which is stream-copied. In the same run, the references the old system
# used: MindAR 1.2.5's own compiler (../shared/tools/mindar-ref/run) on the
# very print arcd compiled, and the ffmpeg command line encoding the same
# video with the same settings; the ratios are printed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ref_tool="${MINDAR_REF:-$root/../shared/tools/mindar-ref/run}"
runs="${ARCD_BENCH_RUNS:-3}"
with_ref="${ARCD_BENCH_REF:-1}"

"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
arcd="$root/build/arcd"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "arcd: $("$arcd" version)"
# The inputs: MindAR's bear photo at 1920x1920, a 10 s 1280x720 30 fps clip with sound.
ffmpeg -v error -y -i "$root/tests/data/bear.png" -vf scale=1920:1920:flags=lanczos -q:v 2 "$work/photo.jpg"
ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
  -t 10 -c:v libx264 -profile:v high -preset veryfast -pix_fmt yuv420p -c:a aac "$work/phone.mp4"
ffmpeg -v error -y -i "$work/phone.mp4" -c:v libx264 -profile:v main -level 4.0 -preset veryfast -g 30 \
  -pix_fmt yuv420p -c:a copy "$work/web.mp4"
echo "photo: 1920x1920 JPEG ($(stat -c %s "$work/photo.jpg") bytes);" \
  "videos: 10 s 1280x720 30 fps H.264 High + AAC ($(stat -c %s "$work/phone.mp4") bytes)," \
  "and the same as H.264 Main with 1 s GOP"
echo

for video in phone web; do
  : > "$work/runs.jsonl"
  for i in $(seq "$runs"); do
    rm -rf "$work/out"
    /usr/bin/time -f '%M' -o "$work/rss" "$arcd" process --photo "$work/photo.jpg" \
      --video "$work/$video.mp4" -o "$work/out" > "$work/done.json" 2>/dev/null
    python3 -c "import json,sys; d=json.load(open('$work/done.json')); d['rss']=int(open('$work/rss').read().split()[-1]); print(json.dumps(d))" \
      >> "$work/runs.jsonl"
  done
  cp "$work/runs.jsonl" "$work/runs-$video.jsonl"
  python3 - "$work/runs.jsonl" "$video" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
v = rows[0]["video"]["output"]
what = "re-encoded" if not v["copied"] else "stream-copied"
print(f"== {sys.argv[2]}.mp4 ({what} to {v['width']}x{v['height']}), median of {len(rows)} runs ==")
for stage in rows[0]["timings"]:
    print(f"  {stage:9s} {statistics.median(r['timings'][stage] for r in rows):7.0f} ms")
total = statistics.median(r["ms"] for r in rows)
print(f"  {'total':9s} {total:7.0f} ms   (aim: under 5000 ms; the old system: 120-255 s)")
print(f"  peak RSS  {max(r['rss'] for r in rows) / 1024:7.1f} MB")
print(f"  print {rows[0]['photo']['width']}x{rows[0]['photo']['height']}, rating {rows[0]['rating']['score']}/100")
PY
  echo
done

if [ "$with_ref" = 1 ]; then
  echo "== the references, in this run =="
  marker_ms=$(python3 -c "import json; print(json.loads(open('$work/runs-phone.jsonl').readline())['timings']['marker'])")
  if [ -x "$ref_tool" ]; then
    "$arcd" compile "$work/out/enhanced-photo.jpg" -o "$work/ours.mind" --quiet --grey-out "$work/print.pgm" >/dev/null
    "$ref_tool" compile "$work/print.pgm" -o "$work/ref.mind" 2>/dev/null | tail -n 1 > "$work/ref.json"
    python3 - "$work/ref.json" "$marker_ms" <<'PY'
import json, sys
ref = json.load(open(sys.argv[1]))
ms = ref.get("compileMs") or ref.get("ms")
ours = float(sys.argv[2])
print(f"  MindAR 1.2.5 (JS, tfjs CPU) compiling the same print: {ms:.0f} ms;"
      f" arcd's marker stage: {ours:.0f} ms: {ms / max(ours, 1):.0f}x")
PY
    if cmp -s "$work/ours.mind" "$work/ref.mind"; then echo "  the two .mind files are byte-identical"; fi
  else
    echo "  (reference compiler not found at $ref_tool)"
  fi
  t0=$(date +%s%N)
  ffmpeg -v error -y -i "$work/phone.mp4" -c:v libx264 -preset veryfast -profile:v main -level 4.0 -crf 23 \
    -g 30 -keyint_min 30 -x264-params scenecut=0 -pix_fmt yuv420p -c:a aac -b:a 128k -ar 48000 \
    -movflags +faststart "$work/ff.mp4"
  t1=$(date +%s%N)
  video_ms=$(python3 -c "import json,statistics; r=[json.loads(l) for l in open('$work/runs-phone.jsonl')]; print(statistics.median(x['timings']['video'] for x in r))")
  python3 -c "ff=($t1-$t0)/1e6; print(f'  ffmpeg CLI, same encode of phone.mp4: {ff:.0f} ms arcd video stage: {float($video_ms):.0f} ms: {ff/float($video_ms):.2f}x')"
fi
