#!/usr/bin/env bash
# Load benchmark (not a test), against a throwaway PostgreSQL (pg_virtualenv):
# while both cores convert and compile, wrk plays the CRM on
# GET /api/ar/status/:id and the phones on GET /objects/ar-storage/...; then
# 50 clients upload at once. Prints requests/s, p50/p99 latency, non-2xx
# answers, the most daemon connections in pg_stat_activity, the peak memory
# of the daemon and of a worker, and whether every accepted project ended
# ready.
#   tests/bench/load_bench.sh [SECONDS per wrk run, default 10]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$root/scripts/setup.sh" >/dev/null
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
"$root/scripts/build.sh" >/dev/null
export PYTHONPATH="$root/tests/integration" PYTHONUNBUFFERED=1
exec pg_virtualenv -t -o "max_connections=60" python3 "$here/load_bench_run.py" "$root/build/arcd" \
  "$root/build/tests/mkimage" "${1:-10}"
