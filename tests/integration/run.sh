#!/usr/bin/env bash
# Runs one integration test against a throwaway PostgreSQL cluster.
# usage: run.sh TEST.py ARCD MKIMAGE
# As root, pg_virtualenv makes its cluster under the one name "regress" in
# /etc/postgresql, so two runs at once would collide: a lock makes them
# take turns (CTest runs them one at a time anyway).
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
test=$1 arcd=$(realpath "$2") mk=$(realpath "$3")
export PYTHONPATH="$here" PYTHONUNBUFFERED=1
exec flock "${TMPDIR:-/tmp}/arcd-pg-virtualenv.lock" \
  pg_virtualenv -o "max_connections=60" python3 "$here/$test" "$arcd" "$mk"
