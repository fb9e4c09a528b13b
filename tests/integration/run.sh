#!/usr/bin/env bash
# Runs one integration test against a throwaway PostgreSQL cluster.
# usage: run.sh TEST.py ARCD MKIMAGE
# As root, pg_virtualenv would make its cluster under the one name "regress"
# in /etc/postgresql and refuse to start when a run that was killed left it
# there (CI failed so on every integration test): -t keeps each run's
# cluster in a temporary directory of its own, removed when the run ends.
# Each run gets a port of its own (pg_virtualenv -t would take 5432 for
# every one), so that CTest may run two at once; and a TMPDIR of its own,
# removed at the end (the tests' temporary files, the daemons' logs) unless
# the test failed, when its path is printed.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
test=$1 arcd=$(realpath "$2") mk=$(realpath "$3")
export PYTHONPATH="$here" PYTHONUNBUFFERED=1
PGPORT=$(python3 - <<'PY'
import random, socket
for _ in range(200):
    port = random.randint(20000, 30000)  # below the kernel's ephemeral ports
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass
    finally:
        s.close()
PY
)
export PGPORT
tmp=$(mktemp -d "${TMPDIR:-/tmp}/arcd-test-${test%.py}.XXXXXX")
chmod 755 "$tmp" # the workers' user (nobody) reaches the storage folders in it
export TMPDIR="$tmp"
pg_virtualenv -t -o "max_connections=60" python3 "$here/$test" "$arcd" "$mk"
rc=$?
if [ "$rc" -eq 0 ]; then
  rm -rf "$tmp"
else
  echo "run.sh: $test failed ($rc); its files are in $tmp" >&2
fi
exit "$rc"
