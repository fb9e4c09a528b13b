#!/usr/bin/env bash
# Compile benchmark: the reference MindAR 1.2.5 compiler (its own JS on tfjs's CPU
# backend, ../shared/tools/mindar-ref/run) and `arcd compile` on the same grey
# .pgm images in one run, with both times, the ratio, both peak memories, and
# the reference tool's feature-by-feature cross-check of the two outputs.
# Then arcd's peak memory on a 1920x1920 JPEG photo (target: <= 150 MB).
#
#   tests/bench/compile_bench.sh [IMAGE...]   (default: card pictarize bear)
#   ARCD_BENCH_RUNS=N   arcd runs per image (default 7; the median is reported)
#
# The reference's time is its own compileImageTargets() + exportData() (Node
# start-up and file reading excluded); arcd's is the whole command from reading
# the file to writing the .mind. The machine is shared, so arcd runs several
# times and the median counts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ref_tool="${MINDAR_REF:-$root/../shared/tools/mindar-ref/run}"
runs="${ARCD_BENCH_RUNS:-7}"
images=("$@")
if [ ${#images[@]} -eq 0 ]; then images=(card pictarize bear); fi

"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
arcd="$root/build/arcd"
mk="$root/build/tests/mkimage"
if [ ! -x "$ref_tool" ]; then
  echo "the reference tool is missing: $ref_tool (set MINDAR_REF)" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "arcd: $("$arcd" version)"
echo
for name in "${images[@]}"; do
  pgm="$root/tests/data/$name.pgm"
  [ -f "$pgm" ] || pgm="$name"
  base=$(basename "${pgm%.pgm}")
  # The reference, once (it takes seconds to a minute).
  /usr/bin/time -f '%M' -o "$work/ref.rss" "$ref_tool" compile "$pgm" -o "$work/ref.mind" \
    2>/dev/null | tail -n 1 > "$work/ref.json"
  # arcd: every thread count it would use, several runs each.
  : > "$work/ours.jsonl"
  for threads in 1 0; do
    for _ in $(seq "$runs"); do
      "$arcd" compile "$pgm" -o "$work/ours.mind" --json --quiet --threads "${threads/#0/$(nproc)}" |
        python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'t':$threads,'ms':d['ms'],'rss':d['peakRssKb']}))" \
        >> "$work/ours.jsonl"
    done
  done
  "$ref_tool" compare "$work/ref.mind" "$work/ours.mind" 2>/dev/null | tail -n 1 > "$work/cmp.json"
  python3 - "$base" "$work" <<'PY'
import json, statistics, sys
name, work = sys.argv[1], sys.argv[2]
ref = json.load(open(f"{work}/ref.json"))
ref_rss = int(open(f"{work}/ref.rss").read().split()[-1])
rows = [json.loads(l) for l in open(f"{work}/ours.jsonl")]
cmp_ = json.load(open(f"{work}/cmp.json"))
def med(t): return statistics.median(r["ms"] for r in rows if r["t"] == t)
def best(t): return min(r["ms"] for r in rows if r["t"] == t)
rss = max(r["rss"] for r in rows) / 1024
m1, mall = med(1), med(0)
print(f"{name} ({ref['width']}x{ref['height']}):")
print(f"  reference MindAR 1.2.5: {ref['ms']:9.0f} ms   peak {ref_rss/1024:6.0f} MB")
print(f"  arcd, 1 thread:         {m1:9.1f} ms   (best {best(1):.1f})   ratio {ref['ms']/m1:6.0f}x")
print(f"  arcd, all cores:        {mall:9.1f} ms   (best {best(0):.1f})   ratio {ref['ms']/mall:6.0f}x   peak {rss:5.0f} MB")
print(f"  cross-check (run compare): bytes identical {cmp_['bytesIdentical']}, keypoints {cmp_['keypointAgreement']}%, "
      f"tracking {cmp_['trackingAgreement']}%, trees {cmp_['treesIdentical']}/{cmp_['treesCompared']}")
PY
done

# Peak memory on a 1920x1920 photo, decoded from JPEG (the reference needs 500-800 MB).
"$mk" scale "$root/tests/data/bear.pgm" 1920 1920 "$work/photo1920.pgm"
"$mk" convert "$work/photo1920.pgm" jpeg90 "$work/photo1920.jpg"
"$arcd" compile "$work/photo1920.jpg" -o "$work/photo1920.mind" --json --quiet |
  python3 -c "
import json,sys
d = json.load(sys.stdin); mb = d['peakRssKb'] / 1024
print(f\"1920x1920 JPEG photo: {d['ms']:.0f} ms, peak memory {mb:.0f} MB (target <= 150 MB: {'met' if mb <= 150 else 'NOT met'})\")"
