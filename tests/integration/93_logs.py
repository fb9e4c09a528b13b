"""Logs (include/arcd/log.h, src/http/server.c, src/daemon/queue.c,
workers/worker.c): every line on the daemon's stderr is one JSON object; one
per request (request id, method, route, path without its query, status,
bytes, duration, the client as seen through a trusted proxy); X-Request-Id
taken from the client when well formed, else made, and returned; the job's
transitions (claimed, each stage, ready or failed with its reason) carry the
request id of the upload, and so do the workers' own lines (log.level debug);
log.level warn leaves the requests out; no token, password or secret is ever
logged.
usage (inside pg_virtualenv): 93_logs.py ARCD MKIMAGE"""
import json
import os
import re
import socket

from harness import ADMIN_TOKEN, Daemon, check, fake_mp4, finish, photo_bytes, sample_mp4

SMTP_PASSWORD = "smtp-pass-Zq81xk"
WEBHOOK_SECRET = "hook-secret-Pp02lm"
WRONG_TOKEN = "wrong-token-0123456789abcdef"
QUERY_SECRET = "query-secret-Kk55"


def lines_of(d):
    out, bad = [], []
    for line in d.logs().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            bad.append(line)
    return out, bad


d = Daemon(log={"level": "debug"}, server={"trustedProxies": ["127.0.0.1/32"]},
           notify={"smtp": {"url": "smtp://127.0.0.1:1", "user": "shop", "password": SMTP_PASSWORD,
                            "from": "shop@example.com"},
                   "webhookSecret": WEBHOOK_SECRET})
try:
    # X-Request-Id: the client's when well formed, else one of ours.
    st, h, _ = d.request("GET", "/healthz", headers={"X-Request-Id": "crm-42.a:b_c"})
    check(h.get("x-request-id") == "crm-42.a:b_c", f"a well-formed X-Request-Id comes back ({h.get('x-request-id')})")
    st, h, _ = d.request("GET", "/healthz")
    made = h.get("x-request-id", "")
    check(re.fullmatch(r"[0-9a-f]{16}", made) is not None, f"without one, one is made ({made})")
    st, h, _ = d.request("GET", "/healthz", headers={"X-Request-Id": "bad id\"}{"})
    check(re.fullmatch(r"[0-9a-f]{16}", h.get("x-request-id", "")) is not None,
          f"a malformed one is replaced ({h.get('x-request-id')})")
    st, h, _ = d.request("GET", "/no/such/route")
    check(st == 404 and "x-request-id" in h, "a 404 has one too")
    # A path that is not UTF-8 (review: its request line was dropped, which
    # let a client hide its requests from the log).
    with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
        s.sendall(b"GET /x\xff\xfey HTTP/1.1\r\nHost: a\r\nX-Request-Id: bad-bytes\r\nConnection: close\r\n\r\n")
        while s.recv(65536):
            pass

    # An upload through a trusted proxy, with its request id.
    st, _, js = d.post_form("/api/ar/create-demo", {"title": "log test"},
                            [("photo", "p.jpg", "image/jpeg", photo_bytes("pictarize.jpg")),
                             ("video", "v.mp4", "video/mp4", sample_mp4())])
    ar = js["arId"]
    d.request("GET", f"/api/ar/status/{ar}?token={QUERY_SECRET}",
              headers={"X-Forwarded-For": "203.0.113.9", "X-Request-Id": "status-1"})
    d.request("GET", f"/api/ar/status/{ar}", token=WRONG_TOKEN)
    final = d.wait_status(ar, timeout=120)
    check(final["status"] == "ready", "the job is ready")
    # A rerun under a request id of the CRM's: the job's lines carry it.
    st, _, _ = d.json("POST", f"/api/ar/projects/{ar}/rerun", headers={"X-Request-Id": "crm-rerun-7"})
    check(st == 202, "re-run accepted")
    d.wait_status(ar, want=("pending", "processing"), timeout=10)
    d.wait_status(ar, timeout=120)
    # A job that fails, for its reason.
    st, _, bad_js = d.upload(photo_bytes("pictarize.jpg"), fake_mp4(30000))
    d.wait_status(bad_js["arId"], timeout=120)

    lines, bad = lines_of(d)
    check(not bad, f"every line of the daemon's and workers' stderr is JSON ({bad[:3]})")
    check(all({"time", "level", "msg"} <= set(x) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", x["time"])
              for x in lines), "each has time (UTC, ms), level and msg")
    reqs = [x for x in lines if x["msg"] == "request"]
    one = next((x for x in reqs if x.get("requestId") == "crm-42.a:b_c"), None)
    check(one is not None and one["method"] == "GET" and one["path"] == "/healthz" and one["status"] == 200
          and one["bytes"] > 0 and isinstance(one["durationMs"], (int, float)) and one["client"] == "127.0.0.1",
          f"a request's line: id, method, path, status, bytes, duration, client ({one})")
    up = next((x for x in reqs if x["method"] == "POST" and x["path"] == "/api/ar/create-demo"), None)
    check(up is not None and up["status"] == 202 and up["route"] not in ("", "unmatched"),
          f"the upload's line, with its route ({up})")
    fwd = next((x for x in reqs if x.get("requestId") == "status-1"), None)
    check(fwd is not None and fwd["client"] == "203.0.113.9" and "?" not in fwd["path"],
          f"the client through a trusted proxy; the path without its query ({fwd})")
    check(any(x["status"] == 401 for x in reqs), "the refused token's request is logged (401)")
    check(any(x["status"] == 404 and x["path"] == "/no/such/route" for x in reqs), "the 404's line")
    raw = next((x for x in reqs if x.get("requestId") == "bad-bytes"), None)
    check(raw is not None and raw["path"] == "/x%FF%FEy" and raw["status"] == 404,
          f"a path of bytes that are not UTF-8 is logged percent-encoded ({raw})")

    upload_id = up["requestId"] if up else "?"
    job = [x for x in lines if x.get("job") == ar]
    claimed = [x for x in job if x["msg"] == "job claimed"]
    stages = [x["stage"] for x in job if x["msg"] == "job stage" and x.get("requestId") == upload_id]
    ready = [x for x in job if x["msg"] == "job ready"]
    check(claimed and claimed[0]["requestId"] == upload_id and claimed[0]["attempt"] == 1,
          f"job claimed, with the upload's request id and attempt ({claimed[:1]})")
    check({"photo", "marker", "video", "viewer", "qr"} <= set(stages), f"each stage's line ({stages})")
    check(ready and isinstance(ready[0].get("timings"), dict) and "marker" in ready[0]["timings"]
          and ready[0]["requestId"] == upload_id, "job ready with its stage timings")
    rerun = [x for x in lines if x.get("requestId") == "crm-rerun-7"]
    check(any(x["msg"] == "job ready" for x in rerun) and any(x["msg"] == "request" for x in rerun),
          f"the re-run's request and its job share the CRM's request id ({[(x['msg'], x.get('status')) for x in rerun]})")
    worker = [x for x in job if x.get("process") == "worker"]
    check(any(x["msg"] == "stage done" and x.get("requestId") == upload_id and "ms" in x for x in worker),
          f"the workers' own lines carry the job and the request id ({worker[:1]})")
    failed = [x for x in lines if x.get("job") == bad_js["arId"] and x["msg"].startswith("job failed")]
    check(failed and failed[-1]["level"] == "error" and "video" in failed[-1]["error"],
          f"a failed job's line has its reason ({failed[-1:]})")

    text = d.logs()
    for secret, what in ((ADMIN_TOKEN, "the admin token"), (WRONG_TOKEN, "a wrong token"),
                         (SMTP_PASSWORD, "the SMTP password"), (WEBHOOK_SECRET, "the webhook secret"),
                         (QUERY_SECRET, "a query string"), (os.environ.get("PGPASSWORD", "-" * 40), "the database password")):
        check(secret not in text, f"{what} is never logged")
finally:
    d.cleanup()

# log.level warn: problems only.
d = Daemon(log={"level": "warn"})
try:
    for _ in range(3):
        d.request("GET", "/healthz")
    lines, _ = lines_of(d)
    check(not any(x["msg"] == "request" for x in lines) and all(x["level"] in ("warn", "error") for x in lines),
          f"log.level warn: no request lines, nothing below warn ({[x['msg'] for x in lines][:5]})")
finally:
    d.cleanup()
finish()
