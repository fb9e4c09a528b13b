#!/usr/bin/env bash
# Runs one integration test against a throwaway PostgreSQL cluster.
# usage: run.sh TEST.py ARCD MKIMAGE
# As root, pg_virtualenv would make its cluster under the one name "regress"
# in /etc/postgresql and refuse to start when a run that was killed left it
# there (CI failed so on every integration test): -t keeps each run's
# cluster in a temporary directory of its own, removed when the run ends.
# The lock keeps two runs from picking the same free port at once (CTest
# runs them one at a time anyway).
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
test=$1 arcd=$(realpath "$2") mk=$(realpath "$3")
export PYTHONPATH="$here" PYTHONUNBUFFERED=1
exec flock "${TMPDIR:-/tmp}/arcd-pg-virtualenv.lock" \
  pg_virtualenv -t -o "max_connections=60" python3 "$here/$test" "$arcd" "$mk"
