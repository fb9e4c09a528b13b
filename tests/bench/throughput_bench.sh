#!/usr/bin/env bash
# Throughput benchmark (not a test): how many whole jobs an hour `arcd serve`
# carries on one core and on all of them, against a throwaway PostgreSQL
# (pg_virtualenv). Each run gives a daemon N uploads at once and times them
# from the first upload to the last `ready`: first the daemon and its one
# worker pinned to core 0 (taskset; PostgreSQL and the client stay off it),
# then one worker per core, unpinned. Two kinds of job, as job_bench.sh has
# them: a 1920x1920 photo with a 10 s 720p video to re-encode (H.264 High, a
# keyframe every 250 frames, like a phone's), and the same with a video fit
# for the web, stream-copied. Prints jobs/hour, the workers' and the
# daemon's CPU seconds per job, and the median whole job (the sum of its
# stages) as the status reports it.
#   tests/bench/throughput_bench.sh [JOBS per run, default 8]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
export PYTHONPATH="$root/tests/integration" PYTHONUNBUFFERED=1
# -t and the lock: as tests/integration/run.sh (a cluster of its own, no port race).
exec flock "${TMPDIR:-/tmp}/arcd-pg-virtualenv.lock" pg_virtualenv -t -o "max_connections=60" python3 "$here/throughput_bench_run.py" "$root/build/arcd" \
  "$root/build/tests/mkimage" "${1:-8}"
