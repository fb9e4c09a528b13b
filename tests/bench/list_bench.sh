#!/usr/bin/env bash
# Back-office benchmark (not a test): the project list with 100,000 projects
# in the table, under wrk: the first page, a page deep down (by cursor), an
# owner's page, filters, the search by orderRef and by q. Prints requests/s
# and p50/p99 latency of each, then PostgreSQL's plan of each of the
# daemon's own statements (auto_explain, with their run times).
#   tests/bench/list_bench.sh [SECONDS per case]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$root/scripts/setup.sh" >/dev/null
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
"$root/scripts/build.sh" >/dev/null
exec pg_virtualenv -t -o "shared_preload_libraries=auto_explain" bash "$here/list_bench_run.sh" "$root" "${1:-10}"
