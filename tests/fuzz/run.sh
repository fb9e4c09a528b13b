#!/usr/bin/env bash
# Runs each libFuzzer harness for a bounded time on a scratch corpus seeded
# from tests/fuzz/<name>/. A crash, leak or timeout fails the run; its input
# is kept in BUILD/fuzz-artifacts/ to replay with `BUILD/fuzz_<name> FILE`.
#   tests/fuzz/run.sh BUILD [SECONDS]      (default 20 s per harness)
# A longer campaign: tests/fuzz/run.sh build-fuzz 3600
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build=$(realpath "$1")
secs=${2:-20}
mkdir -p "$build/fuzz-artifacts"
status=0
for name in http photo mind; do
  corpus=$(mktemp -d)
  echo "== fuzz_$name for ${secs} s =="
  if "$build/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-artifacts/$name-" "$corpus" "$here/$name" > "$build/fuzz-$name.log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$build/fuzz-$name.log" | sed 's/^/  /'
    echo "  corpus: $(ls "$corpus" | wc -l) inputs; no crash"
  else
    echo "  FAILED: see $build/fuzz-$name.log"; tail -n 30 "$build/fuzz-$name.log"
    status=1
  fi
  rm -rf "$corpus"
done
exit $status
