"""Notifications (src/daemon/notify.c): webhooks and emails from the
ar_deliveries outbox, against a real PostgreSQL, a webhook receiver
(http.server on 127.0.0.1) and a real SMTP server (aiosmtpd on 127.0.0.1).

- project.ready reaches the project's own notifyUrl and the global
  notify.webhookUrl, signed (every signature is checked against the secret
  and the raw body), with the headers and the status document;
- the global URL gets every event (ready, error, deleted, expired);
- a receiver answering 500 sees the delivery again after the backoff (10 s,
  then 20 s), with one X-Arcd-Delivery id, until it answers 200;
- kill -9 of the daemon: after the state change and before the send, and in
  the middle of a send (the lease lapses), the delivery still arrives;
- SIGTERM in the middle of a send releases the lease at once;
- two daemons on one database send each delivery once;
- without allowPrivateTargets, loopback/unspecified targets (literals, names,
  IPv4-mapped IPv6) are refused with the reason and nothing arrives; bad
  URLs fail for good;
- the list and redeliver routes with admin, owner and another owner's token;
- email: the message parses, in Russian by default and in English with
  notify.language en; the view link is right; the inline and attached QR
  codes decode with zbarimg to the view URL; notified_at is set; an SMTP
  error reply is retried; a project whose QR code is gone fails for good.
usage (inside pg_virtualenv): 90_notify.py ARCD MKIMAGE"""
import email
import email.policy
from html import unescape as html_unescape
import hashlib
import hmac
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from aiosmtpd.controller import Controller
except ImportError:  # a python3 of its own on PATH (pyenv): Debian's package is the system's
    sys.path.append("/usr/lib/python3/dist-packages")
    from aiosmtpd.controller import Controller

from harness import ADMIN_TOKEN, Daemon, check, fake_mp4, finish, free_port, photo_bytes, psql, sample_mp4

SECRET = "whsec-test-0123456789abcdef"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PHOTO, VIDEO = photo_bytes("card.png"), sample_mp4()
PRIVATE = {"ARCD_NOTIFY_ALLOW_PRIVATE": "1"}


class Receiver:
    """A webhook receiver: records every request; answers the statuses of
    `script` in turn, then 200; with `hang` set, sleeps that long first."""

    def __init__(self, port=0, tls=False):
        self.requests = []
        self.script = []
        self.hang = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.requests.append({"path": self.path, "body": body, "at": time.time(),
                                           "headers": {k.lower(): v for k, v in self.headers.items()}})
                    status = outer.script.pop(0) if outer.script else 200
                    hang = outer.hang
                if hang:
                    time.sleep(hang)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        if tls:  # a self-signed certificate, which no CA vouches for
            tmp = tempfile.mkdtemp(prefix="arcd-tls-")
            key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                            "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path="/hook"):
        return f"{'https' if isinstance(self.server.socket, ssl.SSLSocket) else 'http'}://127.0.0.1:{self.port}{path}"

    def got(self, pred=lambda r: True):
        with self.lock:
            return [r for r in self.requests if pred(r)]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """The SMTP server's handler: answers the codes of `script` to DATA in
    turn (then 250) and keeps every accepted message."""

    def __init__(self):
        self.messages = []
        self.script = []

    async def handle_DATA(self, server, session, envelope):
        if self.script:
            code = self.script.pop(0)
            if code != 250:
                return f"{code} 4.3.0 try again later"
        self.messages.append(envelope)
        return "250 2.0.0 OK"


def wait_until(pred, timeout=60, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def signature_ok(req):
    """X-Arcd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", req["headers"].get("x-arcd-signature", ""))
    if not m:
        return False
    want = hmac.new(SECRET.encode(), m.group(1).encode() + b"." + req["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, m.group(2)) and abs(time.time() - int(m.group(1))) < 120


def deliveries(ar, where="true"):
    """The project's deliveries as dicts, oldest first."""
    out = psql("select coalesce(json_agg(x order by x.occurred_at, x.id), '[]') from (select id::text, event, "
               "channel, target, attempts, last_status, last_error, occurred_at, "
               "extract(epoch from next_attempt_at - now()) as due_in, delivered_at is not null as delivered, "
               "failed_at is not null as failed, lease_owner from ar_deliveries "
               f"where project_id = '{ar}' and {where}) x")
    return json.loads(out)


def settle_all():
    """Ends every delivery still open, so that the next daemon starts clean."""
    psql("update ar_deliveries set failed_at = now(), lease_owner = null "
         "where delivered_at is null and failed_at is null")


def make_project(d, url=None, mail=None, title=None, order=None, token=ADMIN_TOKEN, video=VIDEO):
    """A project made through the API with its fields (notifyUrl, notifyEmail, title, orderRef)."""
    fields = {k: v for k, v in (("notifyUrl", url), ("notifyEmail", mail), ("title", title),
                                ("orderRef", order)) if v}
    st, _, js = d.upload(PHOTO, video, fields=fields, token=token)
    if st != 202:
        raise RuntimeError(f"create-demo: {st} {js}")
    return js["arId"]


def zbar(png):
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        f.write(png)
        f.flush()
        out = subprocess.run(["zbarimg", "--raw", "-q", f.name], capture_output=True, text=True)
    return out.stdout.strip()


# ---------------------------------------------------------------------------
# Webhooks: the project's own URL and the global one, signed.
own, glob = Receiver(), Receiver()
d = Daemon(env=PRIVATE, queue={"maxAttempts": 1},
           notify={"webhookUrl": glob.url("/global"), "webhookSecret": SECRET, "timeoutMs": 3000})
try:
    check(wait_until(lambda: psql("select string_agg(key || '=' || value, ',' order by key) from arcd_settings")
                     == f"email=off,webhook_url={glob.url('/global')}", 10),
          "start-up writes arcd_settings: webhook_url from notify.webhookUrl, email off (no smtp.url)")
    ar = make_project(d, url=own.url())
    final = d.wait_status(ar)
    check(final["status"] == "ready", "a project made through the API is ready")
    mine = wait_until(lambda: own.got(), 20)
    check(len(mine) == 1, f"its notifyUrl gets one request ({len(mine)})")
    r = mine[0]
    h = r["headers"]
    rows = {x["target"]: x for x in deliveries(ar)}
    row = rows.get(own.url(), {})
    check(h.get("content-type") == "application/json" and h.get("user-agent", "").startswith("arcd/")
          and h.get("x-arcd-event") == "project.ready" and h.get("x-arcd-delivery") == row.get("id"),
          f"headers: Content-Type, User-Agent arcd/<version>, X-Arcd-Event, X-Arcd-Delivery = the row's id ({h})")
    check(signature_ok(r), "X-Arcd-Signature verifies with the secret over t and the raw body")
    body = json.loads(r["body"])
    proj = body.get("project", {})
    st, _, doc = d.json("GET", f"/api/ar/status/{ar}")
    check(list(body)[:4] == ["event", "arId", "occurredAt", "project"] and body["event"] == "project.ready"
          and body["arId"] == ar and ISO.match(body["occurredAt"] or ""),
          f"payload: event, arId, occurredAt in ISO 8601 UTC ({body.get('occurredAt')})")
    check(proj.get("arId") == ar and proj.get("status") == "ready"
          and all(proj.get(k) == doc.get(k) for k in ("viewUrl", "qrCodeUrl", "markerUrl", "statusUrl", "rating")),
          "payload.project is the status document at the event")
    gl = wait_until(lambda: glob.got(lambda q: json.loads(q["body"])["arId"] == ar), 10)
    check(len(gl) == 1 and gl[0]["path"] == "/global" and signature_ok(gl[0])
          and gl[0]["headers"]["x-arcd-delivery"] == rows.get(glob.url("/global"), {}).get("id")
          and gl[0]["headers"]["x-arcd-delivery"] != h.get("x-arcd-delivery"),
          "the global notify.webhookUrl gets it too, as a delivery of its own")
    check(wait_until(lambda: all(x["delivered"] and x["attempts"] == 1 and x["last_status"] == 200
                                 for x in deliveries(ar)), 10),
          "both rows: delivered, 1 attempt, last_status 200")

    # Every event goes to the global URL: error (a job that fails), deleted
    # and expired (the removal triggers, as the API and the sweep remove).
    st, _, js = d.upload(PHOTO, fake_mp4())
    bad = js["arId"]
    check(d.wait_status(bad)["status"] == "error", "a project with a damaged video ends in error")
    psql(f"delete from ar_projects where id = '{ar}'")
    psql(f"begin; set local arcd.removal = 'expired'; delete from ar_projects where id = '{bad}'; commit;")
    want = {(bad, "project.error"), (ar, "project.deleted"), (bad, "project.expired")}

    def global_events():
        return {(json.loads(q["body"])["arId"], q["headers"]["x-arcd-event"]) for q in glob.got()}
    got = wait_until(lambda: want <= global_events() and global_events(), 20)
    check(want <= got, f"the global URL gets error, deleted and expired too ({sorted(got)})")
    check(all(signature_ok(q) for q in glob.got()), "every request to the global URL is signed right")
    deleted = [json.loads(q["body"]) for q in own.got() if q["headers"]["x-arcd-event"] == "project.deleted"]
    check(len(deleted) == 1 and deleted[0]["project"]["status"] == "ready",
          "the project's own URL hears of its deletion, with the project as it was")

    # Retries: 500, 500, then 200; one delivery id throughout.
    flaky = Receiver()
    flaky.script = [500, 500]
    ar2 = make_project(d, url=flaky.url())
    check(d.wait_status(ar2)["status"] == "ready", "a second project is ready")
    check(wait_until(lambda: len(flaky.got()) == 1, 20), "its receiver gets the first attempt (answers 500)")
    row = wait_until(lambda: [x for x in deliveries(ar2, f"target = '{flaky.url()}'") if x["last_status"]], 10)[0]
    check(row["attempts"] == 1 and row["last_status"] == 500 and row["last_error"] == "HTTP 500"
          and not row["delivered"] and not row["failed"] and 7 <= row["due_in"] <= 10.5,
          f"after a 500: attempts 1, last_status 500, retried in 10 s ({row['due_in']:.1f} s)")
    check(wait_until(lambda: len(flaky.got()) == 2, 25), "the second attempt comes after the backoff")
    gap = flaky.got()[1]["at"] - flaky.got()[0]["at"]
    row = wait_until(lambda: [x for x in deliveries(ar2, f"target = '{flaky.url()}'") if x["attempts"] == 2
                              and x["lease_owner"] is None], 10)[0]
    check(9 <= gap <= 13 and row["last_status"] == 500 and 17 <= row["due_in"] <= 20.5,
          f"10 s between the attempts ({gap:.1f} s); the next in 20 s ({row['due_in']:.1f} s)")
    psql(f"update ar_deliveries set next_attempt_at = now() where id = '{row['id']}'")  # skip the wait
    check(wait_until(lambda: len(flaky.got()) == 3, 15), "the third attempt is answered 200")
    row = wait_until(lambda: [x for x in deliveries(ar2, f"target = '{flaky.url()}'") if x["delivered"]], 10)
    reqs = flaky.got()
    check(row and row[0]["attempts"] == 3 and row[0]["last_status"] == 200 and row[0]["last_error"] is None,
          "then it is delivered: 3 attempts, last_status 200")
    check(len({q["headers"]["x-arcd-delivery"] for q in reqs}) == 1 and all(signature_ok(q) for q in reqs)
          and len({q["body"] for q in reqs}) == 1,
          "one X-Arcd-Delivery id and the same body on every attempt, each signed")
    time.sleep(1.5)
    check(len(flaky.got()) == 3, "and nothing more is sent")
    # https: the certificate is verified (a self-signed one is not trusted).
    tls = Receiver(tls=True)
    psql("insert into ar_deliveries (project_id, owner, event, channel, target, snapshot) "
         f"values ('{ar2}', 'x', 'project.ready', 'webhook', '{tls.url()}', '{{}}')")
    row = wait_until(lambda: [x for x in deliveries(ar2, f"target = '{tls.url()}'") if x["last_error"]], 15)
    check(row and "certificate" in row[0]["last_error"] and not row[0]["delivered"] and not row[0]["failed"]
          and tls.got() == [], f"https: an untrusted certificate fails the attempt, to be retried "
                               f"({row and row[0]['last_error']})")
    tls.stop()
    check(d.metric("arcd_deliveries_retried_total") >= 2 and d.metric("arcd_deliveries_sent_total") >= 5
          and d.metric("arcd_deliveries_in_flight") == 0,
          "/metrics: deliveries sent, retried, in flight")

    # kill -9 after the state change, before the send: the receiver is down
    # when the project becomes ready; the daemon is killed; both come back.
    port = free_port()
    down_url = f"http://127.0.0.1:{port}/hook"
    ar3 = make_project(d, url=down_url)
    check(d.wait_status(ar3)["status"] == "ready", "a project whose receiver is down is ready")
    row = wait_until(lambda: [x for x in deliveries(ar3, f"target = '{down_url}'") if x["attempts"] >= 1
                              and x["last_error"]], 15)
    check(row and not row[0]["delivered"] and "onnect" in (row[0]["last_error"] or ""),
          f"the attempt fails to connect and waits for its retry ({row and row[0]['last_error']})")
    d.kill()
    back = Receiver(port)
    d.start()
    got = wait_until(lambda: back.got(), 25)
    check(len(got) == 1 and got[0]["headers"]["x-arcd-delivery"] == row[0]["id"] and signature_ok(got[0]),
          "after kill -9 and a restart the delivery arrives, with its id")

    # kill -9 in the middle of a send: the lease lapses, the next daemon
    # sends it again.
    slow = Receiver()
    slow.hang = 30
    ar4 = make_project(d, url=slow.url())
    check(d.wait_status(ar4)["status"] == "ready", "a project whose receiver hangs is ready")
    check(wait_until(lambda: slow.got(), 20), "the daemon is sending it (the receiver holds the request)")
    lease = deliveries(ar4, f"target = '{slow.url()}'")[0]
    check(lease["lease_owner"] is not None, "the delivery is leased while in flight")
    d.kill()
    slow.hang = 0
    killed_at = time.time()
    d.start()
    got = wait_until(lambda: len(slow.got()) >= 2, 40)
    took = slow.got()[-1]["at"] - killed_at if got else 0
    check(got and slow.got()[1]["headers"]["x-arcd-delivery"] == lease["id"],
          f"after kill -9 mid-send, the delivery is sent again once the lease lapses ({took:.0f} s)")
    check(wait_until(lambda: deliveries(ar4, f"target = '{slow.url()}'")[0]["delivered"], 10),
          "and recorded as delivered")

    # SIGTERM mid-send: the attempt is aborted and its lease released now.
    slow.hang = 30
    n0 = len(slow.got())
    psql(f"update ar_deliveries set delivered_at = null, next_attempt_at = now() where id = '{lease['id']}'")
    psql(f"select pg_notify('arcd_deliveries', '{lease['id']}')")
    check(wait_until(lambda: len(slow.got()) > n0, 15), "a delivery is in flight again")
    before = deliveries(ar4, f"target = '{slow.url()}'")[0]
    t0 = time.time()
    rc = d.stop()
    after = deliveries(ar4, f"target = '{slow.url()}'")[0]
    check(rc == 0 and time.time() - t0 < 10, f"SIGTERM with a delivery in flight: a clean exit ({rc}) at once")
    check(after["lease_owner"] is None and not after["delivered"] and not after["failed"]
          and after["attempts"] == before["attempts"] - 1,
          "its lease is released and the aborted attempt not counted")
    slow.hang = 0
    d.start()
    check(wait_until(lambda: deliveries(ar4, f"target = '{slow.url()}'")[0]["delivered"], 20),
          "the next start delivers it")
    for rcv in (flaky, back, slow):
        rcv.stop()
finally:
    d.cleanup()
    settle_all()

# ---------------------------------------------------------------------------
# Two daemons on one database: each delivery is sent by one of them. Half
# the targets are a name (localhost), looked up and pinned.
rcv = Receiver()
d1 = Daemon(env=PRIVATE, notify={"webhookSecret": SECRET, "retryHours": 0})
d2 = Daemon(env=PRIVATE, notify={"webhookSecret": SECRET, "retryHours": 0})
try:
    pid = str(uuid.uuid4())
    psql("insert into ar_deliveries (project_id, owner, event, channel, target, snapshot) "
         f"select '{pid}', 'x', 'project.ready', 'webhook', "
         f"CASE WHEN g % 2 = 0 THEN 'http://localhost:{rcv.port}/hook' ELSE '{rcv.url()}' END || '?n=' || g, "
         f"jsonb_build_object('id', '{pid}', 'status', 'ready') from generate_series(1, 24) g")
    check(wait_until(lambda: len(deliveries(pid, "delivered_at is not null")) == 24, 30), "24 deliveries queued at once are all delivered")
    time.sleep(1)
    ids = [q["headers"]["x-arcd-delivery"] for q in rcv.got()]
    check(len(ids) == 24 and len(set(ids)) == 24, f"each exactly once across two daemons ({len(ids)} requests)")
    check(d1.metric("arcd_deliveries_sent_total") + d2.metric("arcd_deliveries_sent_total") == 24,
          "the two daemons' sent counters add up to 24")
    check(len([q for q in rcv.got() if q["headers"]["host"].startswith("localhost:")]) == 12,
          "the ones to localhost arrive with their Host name")
    # notify.retryHours 0: the first failure is the last.
    closed = f"http://127.0.0.1:{free_port()}/gone"
    psql("insert into ar_deliveries (project_id, owner, event, channel, target, snapshot) "
         f"values ('{pid}', 'x', 'project.ready', 'webhook', '{closed}', '{{}}')")
    row = wait_until(lambda: deliveries(pid, f"target = '{closed}' and failed_at is not null"), 15)
    check(row and row[0]["attempts"] == 1 and "(given up after 1 attempt)" in (row[0]["last_error"] or ""),
          f"past notify.retryHours a failed attempt is not retried ({row and row[0]['last_error']})")
finally:
    d1.cleanup()
    d2.cleanup()
    rcv.stop()
    settle_all()

# ---------------------------------------------------------------------------
# Private targets without notify.allowPrivateTargets: refused after
# resolution, for good, with the reason; nothing arrives.
trap = Receiver()
d = Daemon(notify={"webhookSecret": SECRET})
try:
    check(psql("select value from arcd_settings where key = 'webhook_url'") == "",
          "a daemon without notify.webhookUrl writes it empty")
    ar = make_project(d, url=trap.url())
    check(d.wait_status(ar)["status"] == "ready", "a project with a loopback notifyUrl is ready")
    row = wait_until(lambda: [x for x in deliveries(ar) if x["failed"]], 15)
    check(row and row[0]["attempts"] == 1 and "refused" in (row[0]["last_error"] or "")
          and "127.0.0.1" in row[0]["last_error"] and "loopback" in row[0]["last_error"],
          f"refused for good with the reason ({row and row[0]['last_error']})")
    forms = {
        f"http://localhost:{trap.port}/a": "loopback",
        f"http://[::1]:{trap.port}/b": "loopback",
        f"http://[::ffff:127.0.0.1]:{trap.port}/c": "loopback",
        f"http://0.0.0.0:{trap.port}/d": "unspecified",
        f"http://127.1:{trap.port}/e": "loopback",
        f"https://127.0.0.1:{trap.port}/f": "loopback",
        f"ftp://127.0.0.1:{trap.port}/g": "only http and https",
        # Ranges that are no one's host either (they were tried, and retried).
        f"http://198.18.0.1:{trap.port}/h": "benchmarking",
        f"http://192.0.0.8:{trap.port}/i": "IETF",
        f"http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]:{trap.port}/j": "Teredo",
        f"http://[64:ff9b:1::a00:1]:{trap.port}/k": "NAT64",
        f"http://203.0.113.9:{trap.port}/l": "documentation",
        "not a url": "bad target",
    }
    for target in forms:
        t = target.replace("'", "''")
        psql("insert into ar_deliveries (project_id, owner, event, channel, target, snapshot) "
             f"select id, owner, 'project.ready', 'webhook', '{t}', arcd_project_doc(p) from ar_projects p where id = '{ar}'")
    rows = wait_until(lambda: (lambda r: len(r) == len(forms) + 1 and r)(deliveries(ar, "failed_at is not null")), 20) or []
    for x in rows:
        if x["target"] in forms:
            check(forms[x["target"]] in (x["last_error"] or "") and x["attempts"] == 1,
                  f"{x['target']}: {x['last_error']}")
    time.sleep(1)
    check(trap.got() == [], "no request reached the receiver")
    check(d.metric("arcd_deliveries_failed_total") == len(forms) + 1, "/metrics counts them as failed")
finally:
    d.cleanup()
    trap.stop()
    settle_all()

# ---------------------------------------------------------------------------
# The routes: GET .../notifications and POST .../:deliveryId/redeliver.
A, B = "shop-a-token-0123456789", "shop-b-token-0123456789"
rcv = Receiver()
d = Daemon(env=PRIVATE, notify={"webhookUrl": rcv.url("/global"), "webhookSecret": SECRET},
           auth={"tokens": [{"token": A, "owner": "shop-a"}, {"token": B, "owner": "shop-b"}]})
try:
    ar = make_project(d, url=rcv.url("/own"), token=A)
    check(d.wait_status(ar)["status"] == "ready", "shop A's project is ready")
    check(wait_until(lambda: len(rcv.got()) == 2, 20), "its two deliveries arrive")
    path = f"/api/ar/projects/{ar}/notifications"
    # The receiver has them; their recording follows the answer.
    wait_until(lambda: all(i.get("deliveredAt") for i in d.json("GET", path, token=A)[2].get("items", [{}])), 10)
    st, _, js = d.json("GET", path, token=A)
    items = js.get("items", []) if st == 200 else []
    check(st == 200 and js.get("arId") == ar and len(items) == 2, f"its owner lists its 2 deliveries ({st})")
    keys = {"id", "event", "channel", "target", "global", "occurredAt", "attempts", "lastStatus",
            "lastError", "nextAttemptAt", "deliveredAt", "failedAt"}
    check(all(set(i) == keys for i in items) and all(i["event"] == "project.ready" and i["channel"] == "webhook"
                                                    and i["lastStatus"] == 200 and ISO.match(i["deliveredAt"] or "")
                                                    and i["nextAttemptAt"] is None and i["failedAt"] is None
                                                    for i in items),
          "each: id, event, channel, target, occurredAt, attempts, lastStatus, lastError, nextAttemptAt, "
          "deliveredAt, failedAt")
    # The shop's own webhook URL may carry a key: its owner sees that one
    # went there, not where (it was shown to them before).
    mine = {i["global"]: i["target"] for i in items}
    check(mine == {False: rcv.url("/own"), True: None},
          f"the owner sees its own notifyUrl, and the global webhook's delivery without its URL ({mine})")
    st, _, js = d.json("GET", path)
    check(st == 200 and len(js["items"]) == 2, "an admin token lists them too")
    seen = {i["global"]: i["target"] for i in js["items"]}
    check(seen == {False: rcv.url("/own"), True: rcv.url("/global")}, f"an admin sees both URLs ({seen})")
    st, _, js = d.json("GET", path, token=B)
    check(st == 404 and js["code"] == "not_found", "another owner: 404, as if there were no project")
    st, _, js = d.json("GET", f"/api/ar/projects/{uuid.uuid4()}/notifications")
    check(st == 404, "no such project: 404")
    st, _, js = d.json("GET", "/api/ar/projects/NOT-AN-ID/notifications")
    check(st == 404, "a bad id: 404")
    st, _, _ = d.json("GET", path, token=None)
    check(st == 401, "no token: 401")

    own_rows = [i for i in items if i["target"] == rcv.url("/own")]
    if not own_rows:  # the routes are not in the table: the email part still runs
        check(False, "redeliver: no delivery listed to redeliver")
    else:
        own_row = own_rows[0]
        redo = f"{path}/{own_row['id']}/redeliver"
        st, _, js = d.json("POST", redo, token=B)
        check(st == 404, "another owner cannot redeliver: 404")
        st, _, js = d.json("POST", f"{path}/{uuid.uuid4()}/redeliver", token=A)
        check(st == 404, "no such delivery: 404")
        st, _, js = d.json("POST", f"{path}/bad-id/redeliver", token=A)
        check(st == 404, "a bad delivery id: 404")
        other = make_project(d, token=A)
        st, _, js = d.json("POST", f"/api/ar/projects/{other}/notifications/{own_row['id']}/redeliver", token=A)
        check(st == 404, "a delivery of another project: 404")
        def own_requests():
            return rcv.got(lambda q: q["headers"]["x-arcd-delivery"] == own_row["id"])
        n0 = len(own_requests())
        st, _, js = d.json("POST", redo, token=A)
        check(st == 202 and js["id"] == own_row["id"] and js["deliveredAt"] is None and js["attempts"] == 1
              and js["nextAttemptAt"] is not None, f"its owner redelivers: 202 with the delivery ({st} {js})")
        again = wait_until(lambda: own_requests()[n0:], 10)
        check(len(again) == 1 and again[0]["headers"]["x-arcd-delivery"] == own_row["id"] and signature_ok(again[0]),
              "it is sent again at once, with the same delivery id")
        check(wait_until(lambda: [i for i in d.json("GET", path, token=A)[2]["items"]
                                  if i["id"] == own_row["id"] and i["deliveredAt"] and i["attempts"] == 2], 10),
              "and delivered again: attempts kept and counted (2)")
        st, _, js = d.json("POST", redo)
        check(st == 202, "an admin redelivers too")
        check(wait_until(lambda: len(own_requests()) == n0 + 2, 10), "and it arrives")
finally:
    d.cleanup()
    rcv.stop()
    settle_all()

# ---------------------------------------------------------------------------
# Email, through a real SMTP server.
box = Mailbox()
smtp = Controller(box, hostname="127.0.0.1", port=free_port())
smtp.start()
try:
    for lang in ("ru", "en"):
        notify = {"smtp": {"url": f"smtp://127.0.0.1:{smtp.port}", "from": "AR Shop <noreply@shop.example>"}}
        if lang == "en":
            notify["language"] = "en"
        d = Daemon(notify=notify)
        try:
            check(wait_until(lambda: psql("select value from arcd_settings where key = 'email'") == "on", 10),
                  f"[{lang}] with notify.smtp.url, arcd_settings email = on")
            if lang == "ru":
                check("webhooks go out without X-Arcd-Signature" in d.logs(),
                      "a daemon without notify.webhookSecret warns that its webhooks are unsigned")
            n0 = len(box.messages)
            if lang == "ru":
                box.script = [451]  # the first try is refused for now
            title = "Юбилей «Бабушка» & <друзья>" if lang == "ru" else "Grandma's <jubilee> & friends"
            ar = make_project(d, mail="customer@example.com", title=title, order="A-1001")
            doc = d.wait_status(ar)
            check(doc["status"] == "ready", f"[{lang}] a project with notifyEmail is ready")
            view = doc["viewUrl"]
            if lang == "ru":
                row = wait_until(lambda: [x for x in deliveries(ar) if x["last_status"] == 451], 20)
                check(row and row[0]["attempts"] == 1 and not row[0]["delivered"] and not row[0]["failed"],
                      f"an SMTP error reply (451) is retried ({row and row[0]['last_error']})")
                psql(f"update ar_deliveries set next_attempt_at = now() where project_id = '{ar}'")
            got = wait_until(lambda: box.messages[n0:], 30)
            check(len(got) == 1, f"[{lang}] the SMTP server receives one message")
            if not got:
                continue
            env = got[0]
            check(env.mail_from == "noreply@shop.example" and env.rcpt_tos == ["customer@example.com"],
                  f"[{lang}] MAIL FROM notify.smtp.from, RCPT TO the customer ({env.mail_from} {env.rcpt_tos})")
            msg = email.message_from_bytes(env.content, policy=email.policy.default)
            row = wait_until(lambda: [x for x in deliveries(ar) if x["delivered"]], 10)
            subject = {"ru": "Ваше живое фото готово", "en": "Your living photo is ready"}[lang]
            check(str(msg["subject"]) == subject and msg["to"].addresses[0].addr_spec == "customer@example.com"
                  and "noreply@shop.example" in str(msg["from"]) and msg["date"] is not None
                  and row and msg["x-arcd-delivery"] == row[0]["id"],
                  f"[{lang}] the headers: Subject '{msg['subject']}', To, From, Date, X-Arcd-Delivery")
            check(msg.get_content_type() == "multipart/mixed", f"[{lang}] a multipart/mixed message")
            plain = msg.get_body(preferencelist=("plain",))
            html = msg.get_body(preferencelist=("html",))
            text = plain.get_content() if plain else ""
            page = html.get_content() if html else ""
            words = {"ru": ("Здравствуйте", "Заказ: A-1001"), "en": ("Hello", "Order: A-1001")}[lang]
            check(all(w in text for w in words) and view in text and title in text,
                  f"[{lang}] the text part: the greeting, the title, the order and the view link")
            check(f'href="{view}"' in page and title in html_unescape(page) and title not in page,
                  f"[{lang}] the HTML part: the view link, the title HTML-escaped")
            pngs = [p for p in msg.walk() if p.get_content_type() == "image/png"]
            inline = [p for p in pngs if p.get_content_disposition() == "inline"]
            attached = [p for p in pngs if p.get_content_disposition() == "attachment"]
            cid = inline[0]["content-id"].strip("<>") if inline else "?"
            check(len(inline) == 1 and len(attached) == 1 and f'src="cid:{cid}"' in page
                  and attached[0].get_filename() == "qr-code.png",
                  f"[{lang}] the QR code inline by Content-ID ({cid}) and attached as qr-code.png")
            decoded = [zbar(p.get_payload(decode=True)) for p in pngs]
            check(decoded == [view, view], f"[{lang}] both QR codes decode with zbarimg to the view URL ({decoded})")
            check(row and row[0]["last_status"] == 250, f"[{lang}] the delivery is recorded with SMTP 250")
            st, _, js = d.json("GET", f"/api/ar/status/{ar}")
            check(psql(f"select notified_at is not null from ar_projects where id = '{ar}'") == "t"
                  and js.get("notifiedAt") is not None, f"[{lang}] the project's notified_at is set")
            if lang == "en":
                # A re-run changes neither the link nor the QR code: the
                # customer is not written to again (they were, on each
                # ready). A new notifyEmail is.
                n1 = len(box.messages)
                st, _, _ = d.json("POST", f"/api/ar/projects/{ar}/rerun")
                again = d.wait_status(ar) if st == 202 else {}
                time.sleep(2)
                emails = psql(f"select count(*) from ar_deliveries where project_id = '{ar}' and channel = 'email'")
                check(again.get("status") == "ready" and len(box.messages) == n1 and emails == "1",
                      f"[{lang}] a re-run to ready sends the customer no second email ({emails} deliveries, "
                      f"{len(box.messages) - n1} new messages)")
                st, _, _ = d.json("PATCH", f"/api/ar/projects/{ar}", body=json.dumps(
                    {"notifyEmail": "other@example.com"}).encode(), headers={"Content-Type": "application/json"})
                st2, _, _ = d.json("POST", f"/api/ar/projects/{ar}/rerun")
                again = d.wait_status(ar) if st == 200 and st2 == 202 else {}
                got = wait_until(lambda: box.messages[n1:], 30)
                check(again.get("status") == "ready" and len(got) == 1 and got[0].rcpt_tos == ["other@example.com"],
                      f"[{lang}] after notifyEmail changes, the next ready writes to the new address "
                      f"({[m.rcpt_tos for m in got]})")
            if lang == "ru":
                # A project removed before its email: the QR code is gone.
                psql("insert into ar_deliveries (project_id, owner, event, channel, target, snapshot) "
                     f"values ('{uuid.uuid4()}', 'x', 'project.ready', 'email', 'someone@example.com', "
                     "'{\"status\": \"ready\"}')")
                gone = wait_until(lambda: psql("select last_error from ar_deliveries where channel = 'email' "
                                               "and target = 'someone@example.com' and failed_at is not null"), 15)
                check("QR code" in gone and "gone" in gone, f"a project whose QR code is gone fails for good ({gone})")
                psql("insert into ar_deliveries (project_id, owner, event, channel, target, snapshot) "
                     f"values ('{ar}', 'x', 'project.ready', 'email', 'bad address@example.com', '{{}}')")
                bad = wait_until(lambda: psql("select last_error from ar_deliveries where target = "
                                              "'bad address@example.com' and failed_at is not null"), 15)
                check("not a mail address" in bad, f"a malformed address fails for good ({bad})")
        finally:
            d.cleanup()
            settle_all()
finally:
    smtp.stop()

finish()
