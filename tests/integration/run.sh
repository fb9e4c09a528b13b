#!/usr/bin/env bash
# Runs one integration test against a throwaway PostgreSQL cluster.
# usage: run.sh TEST.py ARCD MKIMAGE
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
test=$1 arcd=$(realpath "$2") mk=$(realpath "$3")
export PYTHONPATH="$here" PYTHONUNBUFFERED=1
exec pg_virtualenv -o "max_connections=60" python3 "$here/$test" "$arcd" "$mk"
