#!/usr/bin/env bash
# `arcd compile` as a user runs it: every input format, PNG variants decode to the
# same grey, --json summary, several targets in one file, progress bar on a
# terminal, and `arcd inspect` on the result.
# usage: test_compile.sh ARCD MKIMAGE DATA_DIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# PNG variants of card.pgm decode to exactly card.pgm's grey.
for kind in rgb8 grey8 grey16 rgb16 palette greyalpha interlaced; do
  $mk convert "$data/card.pgm" "$kind" "card-$kind.png"
  if "$arcd" compile "card-$kind.png" -o "card-$kind.mind" --grey-out "grey-$kind.pgm" --quiet >/dev/null &&
     cmp -s "grey-$kind.pgm" "$data/card.pgm"; then ok "PNG $kind decodes to the reference grey"
  else bad "PNG $kind"; fi
done
# ... and so compile to the reference .mind byte for byte.
if cmp -s card-palette.mind "$data/card.ref.mind"; then ok "palette PNG compiles to card.ref.mind"
else bad "palette PNG .mind differs from card.ref.mind"; fi
$mk convert "$data/card.pgm" rgba-holes card-holes.png
if "$arcd" compile card-holes.png -o holes.mind --quiet >/dev/null; then ok "PNG with transparent pixels"
else bad "PNG with transparent pixels"; fi

# JPEG input and the --json summary.
"$arcd" compile "$data/pictarize.jpg" -o pictarize.mind --json > summary.json
if python3 - summary.json "$data/pictarize.ref.mind" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
t = s["targets"][0]
assert s["bytes"] == os.path.getsize("pictarize.mind") == os.path.getsize(sys.argv[2]), s
assert (t["width"], t["height"], t["keyframes"]) == (800, 800, 10), t
assert sum(t["pointsPerKeyframe"]) == t["points"] > 0 and len(t["pointsPerKeyframe"]) == 10
assert t["trackingPoints"] == sum(t["trackingPointsPerImage"]) > 0
assert s["ms"] > 0 and s["peakRssKb"] > 0 and s["warnings"] == []
PY
then ok "--json summary"; else bad "--json summary: $(cat summary.json)"; fi
if cmp -s pictarize.mind "$data/pictarize.ref.mind"; then ok "pictarize.jpg compiles to pictarize.ref.mind"
else bad "pictarize.jpg .mind differs"; fi

# Several inputs: one target each, in order, as MindAR writes them.
"$arcd" compile "$data/card.pgm" "$data/pictarize.pgm" -o multi.mind --quiet >/dev/null
if cmp -s multi.mind "$data/card+pictarize.ref.mind"; then ok "two targets in one .mind, in order"
else bad "multi-target .mind differs from card+pictarize.ref.mind"; fi
if "$arcd" inspect multi.mind | grep -q "2 targets"; then ok "inspect sees two targets"
else bad "inspect of multi.mind"; fi
if "$arcd" inspect multi.mind --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [t["width"] for t in d["targets"]]==[674,800]'; then
  ok "inspect --json"; else bad "inspect --json"; fi

# A progress bar on a terminal (script gives the command a pty), none otherwise.
if command -v script >/dev/null; then
  script -qec "$arcd compile $data/card.pgm -o tty.mind" /dev/null > tty.log 2>&1
  if grep -q "compiling \[" tty.log; then ok "progress bar on a terminal"; else bad "no progress bar: $(cat tty.log)"; fi
fi
"$arcd" compile "$data/card.pgm" -o notty.mind 2> notty.err >/dev/null
if [ ! -s notty.err ]; then ok "no progress bar without a terminal"; else bad "stderr not empty: $(cat notty.err)"; fi

# The comparison subcommand agrees with itself.
if "$arcd" compare "$data/card.ref.mind" notty.mind | tail -n 1 | grep -q '"bytesIdentical": true\|"bytesIdentical":true'; then
  ok "compare reports identical files"; else bad "compare"; fi

finish
