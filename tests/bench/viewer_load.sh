#!/usr/bin/env bash
# The customer's page load benchmark (not a test): a project made by arcd
# (the sample photo and a 10 s 720p video), its view URL opened in headless
# Chromium with a camera clip of the print, unthrottled and under DevTools'
# network emulation (Fast 4G: 9 Mbps, 60 ms; Slow 4G: 1.6 Mbps, 150 ms).
# Prints, for this build and for the page of an earlier commit side by side,
# the seconds from navigation to arReady and to targetFound and the bytes
# received by each.
#   tests/bench/viewer_load.sh [BASELINE_REV]   (default 908e452: main before
#   the precompressed, versioned scripts and the deferred video)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rev="${1:-908e452}"
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
# The baseline: that commit's tree, built on its own, with its own page.
base="$root/build/bench-baseline-$rev"
if [ ! -x "$base/build/arcd" ]; then
  rm -rf "$base"
  git -C "$root" worktree add -f --detach "$base" "$rev" >/dev/null
  cmake -S "$base" -B "$base/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  make -C "$base/build" -j"$(nproc)" arcd >/dev/null
fi
exec pg_virtualenv -t python3 "$here/viewer_load_run.py" "$root" "$base" "$rev"
