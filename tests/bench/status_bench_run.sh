#!/usr/bin/env bash
# The body of status_bench.sh, run inside pg_virtualenv: ROOT SECONDS.
set -euo pipefail
root=$1 secs=$2
arcd="$root/build/arcd" mk="$root/build/tests/mkimage"
work=$(mktemp -d)
port=18181
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
printf '{"server": {"listen": "127.0.0.1:%s", "publicUrl": "http://127.0.0.1:%s"},
 "storage": {"dir": "%s/storage"}, "limits": {"uploadsPerMinute": 0},
 "database": {"poolSize": 4}, "workers": {"count": 2},
 "viewer": {"template": "%s/config/viewer.html"}}\n' "$port" "$port" "$work" "$root" > "$work/arcd.json"
export ARCD_ADMIN_TOKEN=bench-admin-token-0123456789
auth="Authorization: Bearer $ARCD_ADMIN_TOKEN"
"$arcd" serve --config "$work/arcd.json" 2> "$work/serve.log" &
for _ in $(seq 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
# Distinct photos: the marker cache would answer repeats without compiling.
for i in $(seq 16); do "$mk" texture 6000 6000 "$i" "$work/big$i.jpg"; done
id=$(curl -s -H "$auth" -F "photo=@$root/tests/data/card.png" -F "video=@$root/tests/data/sample.mp4" \
       "127.0.0.1:$port/api/ar/create-demo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["arId"])')
# Keep both workers compiling 36-megapixel photos for the whole run.
uploads=()
for i in $(seq 16); do
  curl -s -o /dev/null -H "$auth" -F "photo=@$work/big$i.jpg" -F "video=@$root/tests/data/sample.mp4" \
       "127.0.0.1:$port/api/ar/create-demo" &
  uploads+=($!)
done
wait "${uploads[@]}"
sleep 1
( while true; do
    psql -Atqc "select count(*) from pg_stat_activity where application_name = 'arcd'"
    sleep 0.1
  done ) > "$work/conns" &
sampler=$!
busy=$(curl -s -H "$auth" "127.0.0.1:$port/metrics" | awk '/^arcd_workers\{state="busy"\}/ {print $2}')
wrk -t2 -c64 -d"${secs}s" --latency -H "$auth" "http://127.0.0.1:$port/api/ar/status/$id" > "$work/wrk.txt"
kill "$sampler"
busy_end=$(curl -s -H "$auth" "127.0.0.1:$port/metrics" | awk '/^arcd_workers\{state="busy"\}/ {print $2}')
hits=$(curl -s -H "$auth" "127.0.0.1:$port/metrics" | awk '/^arcd_status_cache_hits_total/ {print $2}')
echo "GET /api/ar/status/:id for $secs s, 64 connections, workers compiling 36 MP photos (busy: $busy at the start, $busy_end at the end):"
echo "  (one hot project: $hits reads answered from the NOTIFY-invalidated status cache)"
grep -E "Requests/sec|Non-2xx|Socket errors" "$work/wrk.txt" | sed 's/^/  /' || true
awk '/Latency Distribution/ {f=1; next} f && /%/ {print "  latency p" $1 " " $2}' "$work/wrk.txt" |
  grep -E "p50%|p99%"
echo "  highest arcd connections in pg_stat_activity: $(sort -n "$work/conns" | tail -n 1) (pool size 4)"
curl -s -H "$auth" "127.0.0.1:$port/metrics" | grep -E '^arcd_db_pool_(size|waiting)|^arcd_db_timeouts|^arcd_jobs|^arcd_compile_duration_ms_(sum|count)' | sed 's/^/  /'
