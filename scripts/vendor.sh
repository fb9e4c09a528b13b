#!/usr/bin/env bash
# Installs the viewer's scripts from the npm registry into var/vendor/ (or
# $1): A-Frame 1.5.0 and mind-ar 1.2.5, the pair MindAR's own examples use
# (mind-ar 1.2.5 breaks with newer three.js; A-Frame 1.5.0 ships one that
# works). arcd serves them under /vendor/, so viewer pages need no CDN.
# Each is kept precompressed beside itself (NAME.br at brotli's best, NAME.gz
# at gzip's): arcd sends those to browsers that take them (3.1 MB -> 0.5 MB).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/var/vendor}"
files=(aframe.min.js mindar-image-aframe.prod.js)

# The compressed forms of what is there, made again unless they hold
# exactly it (a script replaced with an older date, as cp -p does, too).
compress() {
  command -v brotli >/dev/null || { echo "vendor: brotli is needed (scripts/setup.sh installs it)" >&2; exit 1; }
  for f in "${files[@]}"; do
    if ! { [ -s "$dest/$f.br" ] && brotli -d -c "$dest/$f.br" 2>/dev/null | cmp -s - "$dest/$f"; }; then
      brotli -q 11 -f -o "$dest/$f.br.tmp" "$dest/$f" && mv -f "$dest/$f.br.tmp" "$dest/$f.br"
    fi
    if ! { [ -s "$dest/$f.gz" ] && gzip -d -c "$dest/$f.gz" 2>/dev/null | cmp -s - "$dest/$f"; }; then
      gzip -9 -n -c "$dest/$f" > "$dest/$f.gz.tmp" && mv -f "$dest/$f.gz.tmp" "$dest/$f.gz"
    fi
  done
}

if [ -s "$dest/aframe.min.js" ] && [ -s "$dest/mindar-image-aframe.prod.js" ]; then
  compress
  exit 0
fi
command -v npm >/dev/null || { echo "vendor: npm is needed to fetch A-Frame and MindAR" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# `npm install aframe` fails (its dependencies point at GitHub): take the
# packed release and its built file only.
npm pack --silent aframe@1.5.0 >/dev/null
tar xzf aframe-1.5.0.tgz
npm install --silent --ignore-scripts --no-audit --no-fund --prefix "$work/m" mind-ar@1.2.5 >/dev/null
mkdir -p "$dest"
cp package/dist/aframe-v1.5.0.min.js "$dest/aframe.min.js"
cp "$work/m/node_modules/mind-ar/dist/mindar-image-aframe.prod.js" "$dest/mindar-image-aframe.prod.js"
compress
echo "vendor: A-Frame 1.5.0 and mind-ar 1.2.5 in $dest, with brotli and gzip forms"
