"""Security of the API: bearer tokens from the config (owner and admin roles,
the admin one also from $ARCD_ADMIN_TOKEN); a token sees only its own
projects; the viewer and files stay public behind 128-bit random ids; with no
token configured the API is closed.
usage (inside pg_virtualenv): 60_auth.py ARCD MKIMAGE"""
import json
import os
import re
import subprocess
import tempfile

from harness import ADMIN_TOKEN, ARCD, Daemon, check, finish, photo_bytes, psql, sample_mp4

A, B = "shop-a-token-0123456789", "shop-b-token-0123456789"
d = Daemon(auth={"tokens": [{"token": A, "owner": "shop-a"}, {"token": B, "owner": "shop-b", "role": "owner"}]})
try:
    photo, video = photo_bytes("pictarize.jpg"), sample_mp4()
    st, h, js = d.upload(photo, video, token=None)
    check(st == 401 and js["code"] == "unauthorized" and h.get("www-authenticate", "").startswith("Bearer"),
          f"create-demo without a token: 401 with WWW-Authenticate ({js})")
    st, _, js = d.upload(photo, video, token="shop-a-token-0123456780")
    check(st == 401 and "not valid" in js["error"], "a wrong token: 401")
    st, _, js = d.upload(photo, video, token=A)
    check(st == 202, "shop A's token creates a demo")
    ar = js["arId"]
    check(psql(f"select owner from ar_projects where id = '{ar}'") == "shop-a", "the project records its owner")
    final = d.wait_status(ar)  # as admin
    check(final["status"] == "ready", "the admin token sees it to ready")
    st, _, js = d.json("GET", f"/api/ar/status/{ar}", token=A)
    check(st == 200 and js["arId"] == ar, "its owner sees its status")
    for i in range(3):  # cached or not, another owner gets the same answer
        st, _, js = d.json("GET", f"/api/ar/status/{ar}", token=B)
        check(st == 404 and js["code"] == "not_found", f"another owner's token: 404, as if there were none ({i})")
    st, _, _ = d.request("GET", f"/api/ar/events/{ar}", token=B)
    check(st == 404, "nor its event stream")
    st, _, _ = d.json("GET", f"/api/ar/status/{ar}", token=None)
    check(st == 401, "status without a token: 401")
    st, h, _ = d.request("GET", f"/ar/view/{ar}", token=None)
    check(st == 302, "the view link stays public")
    st, _, _ = d.request("GET", f"/objects/ar-storage/{ar}/marker.mind", token=None)
    check(st == 200, "and so do the project's files")
    st, _, js = d.create([(photo, video)], token=B)
    check(st == 202 and psql(f"select owner from ar_projects where id = '{js['arId']}'") == "shop-b",
          "create works with an owner token too")
    ids = [ar, js["arId"]] + [d.upload(photo, video, token=A)[2]["arId"] for _ in range(3)]
    check(all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", i) for i in ids)
          and len(set(ids)) == len(ids), "ids are 128 random bits, written as UUIDs")
    st, _, _ = d.request("GET", "/healthz", token=None)
    check(st == 200, "health stays public")
finally:
    d.cleanup()

# No token configured at all: the API is closed.
d = Daemon(admin_token=None)
try:
    st, _, js = d.json("GET", "/api/ar/status/00000000-0000-0000-0000-000000000000", token=ADMIN_TOKEN)
    check(st == 401 and "no API token is configured" in js["error"], f"no token configured: 401 ({js})")
finally:
    d.cleanup()

# The workers' sandbox: a worker making a forbidden call (here through the
# test hook ARCD_TEST_FORBIDDEN_CALL) is killed by seccomp; the daemon lives
# on, the job ends in error with the reason, and the worker is replaced.
for call in ("socket", "execve"):
    os.environ["ARCD_TEST_FORBIDDEN_CALL"] = call
    d = Daemon(queue={"maxAttempts": 1})
    del os.environ["ARCD_TEST_FORBIDDEN_CALL"]
    try:
        st, _, js = d.upload(photo_bytes("pictarize.jpg"), sample_mp4())
        final = d.wait_status(js["arId"], timeout=60)
        check(final["status"] == "error" and "signal 31, a forbidden system call, stopped by the sandbox" in (final["errorMessage"] or ""),
              f"{call}() in a worker: killed by the sandbox, the job fails with the reason ({final['errorMessage']})")
        st, _, _ = d.request("GET", "/healthz")
        check(st == 200 and d.proc.poll() is None, f"after {call}() the daemon is still up")
        check("sandbox is off" not in d.logs() and "execv() failed" not in d.logs(), f"{call}() never ran")
        check(d.metric("arcd_worker_restarts_total") >= 1, "the worker was replaced")
    finally:
        d.cleanup()

# Workers as an unprivileged user (workers.user): the daemon, started as
# root, hands each project's folder to that user; the worker can write
# nothing else.
if os.geteuid() == 0:
    import pwd
    nobody = pwd.getpwnam("nobody")
    d = Daemon(workers={"user": "nobody", "count": 1})
    try:
        st, _, js = d.upload(photo_bytes("pictarize.jpg"), sample_mp4())
        final = d.wait_status(js["arId"], timeout=120)
        check(final["status"] == "ready", f"with workers.user nobody the job ends ready ({final.get('errorMessage')})")
        uids = []
        for pid in d.worker_pids():
            with open(f"/proc/{pid}/status") as f:
                uids += [int(l.split()[1]) for l in f if l.startswith("Uid:")]
        check(uids and all(u == nobody.pw_uid for u in uids), f"the workers run as nobody ({uids})")
        marker = os.path.join(d.storage, "ar-storage", js["arId"], "marker.mind")
        check(os.stat(marker).st_uid == nobody.pw_uid, "their results belong to nobody")
        check(os.stat(os.path.join(d.storage, "tmp")).st_uid == 0, "the uploads in flight stay the daemon's")
    finally:
        d.cleanup()
else:
    print("skip workers.user: not root")

# A token too short to be a secret is a configuration error.
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump({"auth": {"tokens": [{"token": "short", "owner": "x"}]}}, f)
r = subprocess.run([ARCD, "serve", "--config", f.name], capture_output=True, text=True, timeout=30,
                   env=dict(os.environ, ARCD_ADMIN_TOKEN=""))
os.unlink(f.name)
check(r.returncode == 2 and "auth.tokens[0]" in r.stderr, f"a short token stops serve: {r.stderr.strip()}")
finish()
