#!/usr/bin/env bash
# The main job: install what is missing, build, and run the daemon on
# 127.0.0.1:8080. Without DATABASE_URL it starts a private PostgreSQL cluster
# in var/pgdata (created on first run; as the unprivileged postgres user when
# run as root), applies the migrations and serves; Ctrl-C stops both.
# Other settings come from config/arcd.json and the ARCD_* variables
# (config/README.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null

listen="${ARCD_LISTEN:-127.0.0.1:8080}"
export ARCD_LISTEN="$listen"
export ARCD_PUBLIC_URL="${ARCD_PUBLIC_URL:-http://$listen}"
export ARCD_STORAGE_DIR="${ARCD_STORAGE_DIR:-$root/var/storage}"

pgbin=""
if [ -z "${DATABASE_URL:-}" ]; then
  pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  data="$root/var/pgdata" sock="$root/var/pgsock" port="${ARCD_PG_PORT:-54329}"
  mkdir -p "$root/var" "$sock"
  as=()
  if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root: the cluster belongs to postgres.
    chown postgres "$root/var" "$sock"
    as=(runuser -u postgres --)
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    echo "run: creating a private PostgreSQL cluster in $data"
    "${as[@]}" "$pgbin/initdb" -D "$data" -U arcd --auth=trust >/dev/null
  fi
  "${as[@]}" "$pgbin/pg_ctl" -D "$data" -l "$root/var/postgres.log" -w \
    -o "-k $sock -p $port -c listen_addresses=''" start >/dev/null
  trap '"${as[@]}" "$pgbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null' EXIT
  "${as[@]}" "$pgbin/psql" -h "$sock" -p "$port" -U arcd -d postgres -Atqc \
    "SELECT 1 FROM pg_database WHERE datname = 'arcd'" | grep -q 1 ||
    "${as[@]}" "$pgbin/createdb" -h "$sock" -p "$port" -U arcd arcd
  export DATABASE_URL="postgresql://arcd@/arcd?host=$sock&port=$port"
  echo "run: PostgreSQL is up ($DATABASE_URL)"
fi

"$root/build/arcd" migrate
# The API needs a bearer token: an admin token for this run unless one is set
# (or auth.tokens in config/arcd.json holds the shop's own).
if [ -z "${ARCD_ADMIN_TOKEN:-}" ]; then
  ARCD_ADMIN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export ARCD_ADMIN_TOKEN
  echo "run: ARCD_ADMIN_TOKEN=$ARCD_ADMIN_TOKEN (this run's admin token)"
fi
cat <<EOF2

arcd is starting on http://$listen (Ctrl-C stops it). Create a demo from the
sample photo and video, then follow it:

  curl -s -H "Authorization: Bearer $ARCD_ADMIN_TOKEN" \\
       -F photo=@$root/tests/data/pictarize.jpg -F video=@$root/tests/data/sample.mp4 \\
       http://$listen/api/ar/create-demo
  curl -s -H "Authorization: Bearer $ARCD_ADMIN_TOKEN" "http://$listen/api/ar/status/<arId>?wait=30"

EOF2
"$root/build/arcd" serve
