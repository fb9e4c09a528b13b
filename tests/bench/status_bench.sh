#!/usr/bin/env bash
# Daemon benchmark (not a test): wrk on GET /api/ar/status/:id while both cores
# compile large photos, against a throwaway PostgreSQL (pg_virtualenv). Prints
# requests/s, p50/p99 latency, non-2xx answers, and the highest number of the
# daemon's connections seen in pg_stat_activity (never more than the pool).
#   tests/bench/status_bench.sh [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$root/scripts/setup.sh" >/dev/null
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
"$root/scripts/build.sh" >/dev/null
exec pg_virtualenv -t bash "$here/status_bench_run.sh" "$root" "${1:-15}"
