#!/usr/bin/env bash
# The body of list_bench.sh, run inside pg_virtualenv: ROOT SECONDS.
set -euo pipefail
root=$1 secs=$2
arcd="${ARCD_BIN:-$root/build/arcd}"
work=$(mktemp -d)
port=18183
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
admin=bench-admin-token-0123456789
owner=bench-shop7-token-0123456789
printf '{"server": {"listen": "127.0.0.1:%s", "publicUrl": "http://127.0.0.1:%s"},
 "storage": {"dir": "%s/storage"}, "database": {"poolSize": 4}, "workers": {"count": 1},
 "auth": {"tokens": [{"token": "%s", "owner": "shop-7"}]},
 "viewer": {"template": "%s/config/viewer.html"}}\n' "$port" "$port" "$work" "$owner" "$root" > "$work/arcd.json"
export ARCD_ADMIN_TOKEN=$admin
"$arcd" migrate --config "$work/arcd.json" >/dev/null
echo "filling ar_projects with 100,000 projects (50 owners, 5 statuses, a quarter demos) ..."
psql -q <<'SQL'
INSERT INTO ar_projects (id, owner, status, is_demo, expires_at, title, order_ref, customer_name,
                         customer_email, created_at, updated_at, run_after, result)
SELECT gen_random_uuid(), 'shop-' || (g % 50), (array['ready','ready','ready','error','pending'])[1 + g % 5],
       g % 4 = 0, CASE WHEN g % 4 = 0 THEN now() + interval '20 hours' END,
       (array['Свадьба','Юбилей','Birthday','Wedding','Выпускной'])[1 + g % 5] || ' ' || g,
       'ORD-' || lpad(g::text, 7, '0'),
       (array['Иванов','Petrov','Smith','Сидорова','Kowalski'])[1 + g % 5] || ' '
         || (array['Anna','Ivan','Olga','John'])[1 + g % 4] || ' ' || (g % 997),
       'c' || g || '@example.com', now() - make_interval(secs => g * 30), now(), 'infinity',
       CASE WHEN g % 5 < 3 THEN jsonb_build_object('files', jsonb_build_array('marker.mind', 'index.html',
            'thumbnail.jpg'), 'rating', jsonb_build_object('stars', g % 6)) END
FROM generate_series(1, 100000) g;
ANALYZE ar_projects;
SQL
"$arcd" serve --config "$work/arcd.json" 2> "$work/serve.log" &
for _ in $(seq 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port/api/ar/projects"
deep=$(curl -sf -H "Authorization: Bearer $admin" "$base?limit=100" | python3 -c '
import json, sys, urllib.request
url, tok = sys.argv[1], sys.argv[2]
cur = json.load(sys.stdin)["nextCursor"]
for _ in range(499):  # 500 pages of 100 down: the 50,001st project
    req = urllib.request.Request(url + "?limit=100&cursor=" + cur, headers={"Authorization": "Bearer " + tok})
    cur = json.load(urllib.request.urlopen(req))["nextCursor"]
print(cur)' "$base" "$admin")
# Every statement of the daemon's logs its plan while the cases are tried once.
psql -qc "ALTER SYSTEM SET auto_explain.log_min_duration = 0" -c "ALTER SYSTEM SET auto_explain.log_analyze = on" \
     -c "ALTER SYSTEM SET auto_explain.log_buffers = on" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
cases=(
  "first page (admin)|$admin|$base"
  "page 501 by cursor (admin)|$admin|$base?cursor=$deep"
  "an owner's first page|$owner|$base"
  "status=ready&isDemo=false|$admin|$base?status=ready&isDemo=false&limit=50"
  "orderRef=ORD-0054321|$admin|$base?orderRef=ORD-0054321"
  "q=ORD-00777 (search)|$admin|$base?q=ORD-00777"
  "q=Сидорова Olga 5 (search)|$admin|$base?q=%D0%A1%D0%B8%D0%B4%D0%BE%D1%80%D0%BE%D0%B2%D0%B0%20Olga%205"
  "createdAfter..createdBefore|$admin|$base?createdAfter=$(date -u -d '-20 days' +%FT%TZ)&createdBefore=$(date -u -d '-10 days' +%FT%TZ)"
)
for c in "${cases[@]}"; do
  IFS='|' read -r name tok url <<< "$c"
  curl -sf -o "$work/one.json" -H "Authorization: Bearer $tok" "$url"
done
sleep 0.5
psql -qc "ALTER SYSTEM SET auto_explain.log_min_duration = -1" -c "SELECT pg_reload_conf()" >/dev/null
log=$(ls /var/log/postgresql/postgresql-*-regress.log | head -n 1)
cp "$log" "$work/plans.log"
echo
for conns in 4 16; do
echo "GET /api/ar/projects, 100,000 projects, wrk -t2 -c$conns for $secs s each (p99 target: 20 ms; database pool of 4):"
for c in "${cases[@]}"; do
  IFS='|' read -r name tok url <<< "$c"
  items=$(curl -sf -H "Authorization: Bearer $tok" "$url" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
  wrk -t2 -c$conns -d"${secs}s" --latency -H "Authorization: Bearer $tok" "$url" > "$work/wrk.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p50=$(awk '/Latency Distribution/ {f=1; next} f && $1 == "50%" {print $2}' "$work/wrk.txt")
  p99=$(awk '/Latency Distribution/ {f=1; next} f && $1 == "99%" {print $2}' "$work/wrk.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
  printf '  %-34s %3s items  %8s req/s  p50 %8s  p99 %8s%s\n' "$name" "$items" "$rps" "$p50" "$p99" \
         "${non2xx:+  non-2xx: $non2xx}"
done
done
echo
echo "The daemon's statements as PostgreSQL planned and ran them (auto_explain):"
python3 - "$work/plans.log" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
for block in re.split(r"\n(?=\S.*LOG:  duration: )", text):
    if "LOG:  duration:" not in block or "FROM ar_projects p" not in block or "ORDER BY p.created_at DESC" not in block:
        continue
    head = re.search(r"duration: ([\d.]+ ms)", block).group(1)
    plan = block[block.find("\n", block.find("Query Text:")):]
    lines = [l for l in plan.splitlines() if l.strip() and not l.lstrip().startswith(("AND ", "WHERE", "SELECT",
             "to_char", "result", "coalesce", "(extract", "FROM", "ORDER BY", "OR ", "(timestamptz", "coalesce(customer"))]
    params = re.search(r"parameters: (.*)", text[max(0, text.find(block) - 600):text.find(block) + len(block)])
    q = re.search(r"parameters: (.*)", block)
    print(f"--- {head}" + (f"  ({q.group(1)[:160]})" if q else ""))
    for l in lines:
        if re.match(r"\s*(->|Limit|Sort|Index|Bitmap|Seq|Recheck|Filter|Rows Removed|Buffers|Planning|Execution|Heap)", l.split("LOG:")[-1]):
            print("   ", l.split("LOG:")[-1].rstrip()[:150])
PY
