#!/usr/bin/env bash
# Installs what is missing, builds (warnings are errors) and runs every test
# through CTest: once on the Release build, and once more on a build with
# AddressSanitizer and UndefinedBehaviorSanitizer, which catches memory and
# arithmetic errors in the hand-written code (decoders, .mind reader, compiler).
# This is what .ci/run calls. ARCD_TEST_QUICK=1 skips the sanitizer pass.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
ARCD_WERROR=1 "$root/scripts/build.sh"
(cd "$root/build" && ctest --output-on-failure --timeout 600 -j"$(nproc)")

if [ "${ARCD_TEST_QUICK:-}" != "1" ]; then
  echo
  echo "== the same tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
  cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DARCD_SANITIZE=ON \
        -DARCD_WERROR=ON >/dev/null
  cmake --build "$root/build-asan" -j"$(nproc)" -- --no-print-directory >/dev/null
  (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ctest --output-on-failure --timeout 900 -j"$(nproc)" -E '^style\.')
fi
