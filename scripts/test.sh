#!/usr/bin/env bash
# Installs what is missing, builds (warnings are errors) and runs every test
# through CTest: once on the Release build, and once more on a build with
# AddressSanitizer and UndefinedBehaviorSanitizer, which catches memory and
# arithmetic errors in the hand-written code (decoders, .mind reader, compiler).
# Then each libFuzzer harness of tests/fuzz/ for a bounded time (clang).
# The browser tests (30_viewer, 40_phone, 45_customer_page: Chromium driving
# the customer's pages; 96_https: Caddy and nginx in front, Chromium behind
# them; 92_app: the operator's app), the fault test (70_faults: a full disk,
# PostgreSQL stopped) and the install test (98_install: cmake --install and
# the .deb; arcd check's code runs at every sanitized daemon's start anyway)
# run once, on the Release build: under the sanitizers they test Chromium's
# and the machine's time more than arcd's memory, and CI must stay near 30
# minutes. For the same reason
# ARCD_TEST_SANITIZED=1 tells the print sheet's test to lay out two papers
# there, not all five, the colour test to tone-map HLG and PQ 10-bit, not
# also PQ 12-bit and Dolby Vision (each is a whole job on the same code path),
# the queue test to run 8 concurrent jobs, not 20, and 98_install to leave
# the .deb to the Release pass. Integration tests run two at a time, but for
# the browser and timing ones (tests/CMakeLists.txt).
# This is what .ci/run calls. ARCD_TEST_QUICK=1 skips the sanitizer and fuzzing
# passes; ARCD_FUZZ_SECONDS sets the time per harness (default 20).
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
  (cd "$root/build-asan" && ARCD_TEST_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     ctest --output-on-failure --timeout 900 -j"$(nproc)" \
       -E '^style\.|^integration\.(30_viewer|40_phone|45_customer_page|70_faults|92_app|96_https|98_install)$')
fi

if [ "${ARCD_TEST_QUICK:-}" != "1" ]; then
  echo
  echo "== fuzzing: each libFuzzer harness for ${ARCD_FUZZ_SECONDS:-20} s (tests/fuzz/) =="
  CC=clang cmake -S "$root" -B "$root/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DARCD_FUZZ=ON \
        >/dev/null
  cmake --build "$root/build-fuzz" -j"$(nproc)" -- --no-print-directory >/dev/null
  "$root/tests/fuzz/run.sh" "$root/build-fuzz" "${ARCD_FUZZ_SECONDS:-20}"
fi
