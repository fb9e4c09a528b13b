#!/usr/bin/env bash
# The main job: install what is missing, build, and compile the sample photo
# shipped in the repository into a MindAR .mind, then show what it holds.
#   scripts/run.sh [PHOTO...]     (default: tests/data/pictarize.jpg)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null
mkdir -p "$root/out"
inputs=("$@")
if [ ${#inputs[@]} -eq 0 ]; then inputs=("$root/tests/data/pictarize.jpg"); fi
out="$root/out/$(basename "${inputs[0]%.*}").mind"
"$root/build/arcd" compile "${inputs[@]}" -o "$out"
echo
echo "the .mind is at: $out"
"$root/build/arcd" inspect "$out"
