#!/usr/bin/env bash
# Configures and builds arcd (Release) into build/. Extra arguments go to cmake.
# Warnings are errors when CI=true.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
werror=OFF
if [ "${CI:-}" = "true" ] || [ "${ARCD_WERROR:-}" = "1" ]; then werror=ON; fi
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DARCD_WERROR=$werror "$@" >/dev/null
cmake --build "$root/build" -j"$(nproc)" -- --no-print-directory
