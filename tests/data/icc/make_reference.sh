#!/usr/bin/env bash
# Writes skia.sha256 and NAME.skia-sample for each profile NAME.icc here:
# the SHA-256 of the 16,777,216 8-bit colours (r, g, b in index order
# r<<16|g<<8|b, 3 bytes each) as Skia converts them to sRGB, and 4,096 of
# them (colour k * 4093 mod 2^24 for k = 0..4095, 3 bytes each): a
# 4096x4096 PNG holding every colour once, tagged with the profile (iCCP),
# loaded and drawn by @napi-rs/canvas (Skia, the canvas MindAR's reference
# compiler reads pixels through) and read back with getImageData.
# tests/src/image/test_icc.c converts the same colours with arcd and
# compares the hash (the profiles arcd converts as Skia does) or the sample
# (those it converts within a level).
#   tests/data/icc/make_reference.sh [MINDAR_REF_DIR]
# MINDAR_REF_DIR: the reference tool (../shared/tools/mindar-ref); its
# node_modules cache is installed by its first run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ref="${1:-$here/../../../../shared/tools/mindar-ref}"
cache="${MINDAR_REF_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mindar-ref}"
[ -d "$cache/node_modules/@napi-rs/canvas" ] || "$ref/run" compare /dev/null /dev/null >/dev/null 2>&1 || true
[ -d "$cache/node_modules/@napi-rs/canvas" ] || { echo "no @napi-rs/canvas in $cache" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$work/all.idat" <<'PY'
import sys, zlib
raw = bytearray()
for y in range(4096):
    raw.append(0)
    row = bytearray(4096 * 3)
    for x in range(4096):
        i = y * 4096 + x
        row[3 * x:3 * x + 3] = bytes((i >> 16, (i >> 8) & 255, i & 255))
    raw += row
open(sys.argv[1], 'wb').write(zlib.compress(bytes(raw), 1))
PY

cat > "$cache/arcd-icc-probe.mjs" <<'JS'
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { createHash } from 'crypto';
import fs from 'fs';
const img = await loadImage(fs.readFileSync(process.argv[2]));
const c = createCanvas(img.width, img.height);
const ctx = c.getContext('2d');
ctx.drawImage(img, 0, 0, img.width, img.height);
const d = ctx.getImageData(0, 0, img.width, img.height).data;
const rgb = Buffer.alloc(img.width * img.height * 3);
for (let i = 0, j = 0; i < d.length; i += 4, j += 3) { rgb[j] = d[i]; rgb[j + 1] = d[i + 1]; rgb[j + 2] = d[i + 2]; }
const sample = Buffer.alloc(4096 * 3);
for (let k = 0; k < 4096; k++) {
  const i = (k * 4093) % (1 << 24);
  rgb.copy(sample, 3 * k, 3 * i, 3 * i + 3);
}
fs.writeFileSync(process.argv[3], sample);
console.log(createHash('sha256').update(rgb).digest('hex'));
JS

out="$here/skia.sha256"
: > "$out.new"
for icc in "$here"/*.icc; do
  python3 - "$icc" "$work/all.idat" "$work/probe.png" <<'PY'
import struct, sys, zlib
def chunk(t, b): return struct.pack('>I', len(b)) + t + b + struct.pack('>I', zlib.crc32(t + b) & 0xffffffff)
prof = open(sys.argv[1], 'rb').read()
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 4096, 4096, 8, 2, 0, 0, 0))
png += chunk(b'iCCP', b'probe\0\0' + zlib.compress(prof))
png += chunk(b'IDAT', open(sys.argv[2], 'rb').read()) + chunk(b'IEND', b'')
open(sys.argv[3], 'wb').write(png)
PY
  hash="$(cd "$cache" && node arcd-icc-probe.mjs "$work/probe.png" "${icc%.icc}.skia-sample")"
  echo "$hash  $(basename "$icc")" | tee -a "$out.new"
done
mv "$out.new" "$out"
