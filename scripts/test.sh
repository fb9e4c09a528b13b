#!/usr/bin/env bash
# Installs what is missing, builds (warnings are errors in CI) and runs every
# test through CTest. This is what .ci/run calls.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
ARCD_WERROR=1 "$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure --timeout 600 -j"$(nproc)"
