"""API tokens in the database, without restarts: `arcd token create` prints a
token once and stores only its SHA-256; daemons already running accept it
within a second with its role (an owner token sees its own projects, an
admin token all); `arcd token list` shows it without the secret; `arcd token
revoke` makes every daemon refuse it within a second, while requests that
began with it finish; config tokens keep working; a daemon started after a
token was made accepts it from its first request; a daemon whose LISTEN
connection is gone (or that has none: a pool of one) still sees changes
within about a second; bad input to the CLI gets a clear message and its
exit status.
usage (inside pg_virtualenv): 95_tokens.py ARCD MKIMAGE"""
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from harness import ADMIN_TOKEN, ARCD, Daemon, check, finish, photo_bytes, psql, sample_mp4

MKIMAGE = sys.argv[2]
CFG_TOKEN = "cfg-shop-token-0123456789"
NOBODY = "00000000-0000-4000-8000-000000000000"  # no such project: 404 once a token is accepted
TOKEN_RE = re.compile(r"arcd_[A-Za-z0-9_-]{43}")


def cli_env(**extra):
    env = dict(os.environ)
    for k in ("DATABASE_URL", "ARCD_CONFIG", "ARCD_ADMIN_TOKEN"):
        env.pop(k, None)
    env.update(extra)
    return env


def token_cmd(*args, env=None):
    return subprocess.run([ARCD, "token", *args], capture_output=True, text=True, timeout=60,
                          env=env or cli_env())


def accepted(d, tok):
    """1 accepted, 0 refused (401), None something else."""
    st, _, js = d.json("GET", f"/api/ar/status/{NOBODY}", token=tok)
    if st == 404:
        return 1
    if st == 401 and "not valid" in js["error"]:
        return 0
    print(f"     unexpected answer {st} {js}", flush=True)
    return None


def until(pred, timeout):
    """Seconds until pred() held, or None if it did not within timeout."""
    start = time.time()
    while True:
        if pred():
            return time.time() - start
        if time.time() - start > timeout:
            return None
        time.sleep(0.01)


def everywhere(daemons, tok, want, timeout):
    """Time until every daemon gives want for tok (all polled together)."""
    start = time.time()
    pending = list(daemons)
    times = {}
    while pending and time.time() - start <= timeout:
        for d in list(pending):
            if accepted(d, tok) == want:
                times[d.port] = time.time() - start
                pending.remove(d)
        time.sleep(0.01)
    return None if pending else max(times.values())


photo, video = photo_bytes("card.png"), sample_mp4()
work = tempfile.mkdtemp(prefix="arcd-tokens-")
big_path = os.path.join(work, "big.jpg")
# A 36-megapixel photo keeps a worker busy for seconds: a project that is
# still running while its token is revoked.
subprocess.run([MKIMAGE, "texture", "6000", "6000", "7", big_path], check=True)
with open(big_path, "rb") as f:
    big = f.read()

cfg_auth = {"tokens": [{"token": CFG_TOKEN, "owner": "shop-cfg"}]}
a = Daemon(auth=cfg_auth)
b = Daemon(storage=a.storage, auth=cfg_auth)
# A pool of one has no LISTEN connection: this daemon learns of changes only
# by looking every second.
c = Daemon(storage=a.storage, auth=cfg_auth, database={"poolSize": 1})
daemons = [a, b, c]
listening = [a, b]
others = []
try:
    check("0 from the database" in a.logs(), "the daemon loaded the database's tokens at start (none yet)")
    st, _, js = a.upload(photo, video, token=ADMIN_TOKEN)
    p_admin = js["arId"]
    st, _, js = a.upload(photo, video, token=CFG_TOKEN)
    p_cfg = js["arId"]
    check(st == 202, "projects made with config tokens (admin, shop-cfg)")

    # ---- create: printed once, only the hash stored ----
    r = token_cmd("create", "--role", "owner", "--owner", "shop-x", "--label", "CRM (test)",
                  "--config", a.config)
    made_at = time.time()
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 1 and TOKEN_RE.fullmatch(lines[0]),
          f"token create prints one token, 'arcd_' + 43 base64url characters ({r.returncode}, {r.stderr.strip()})")
    check("will not be shown again" in r.stderr and lines[0] not in r.stderr,
          "and says on stderr that it will not be shown again")
    t_owner = lines[0]
    id_owner = psql("select id from arcd_tokens where owner = 'shop-x'")
    check(id_owner in r.stderr, "stderr names the new token's id")
    check(psql("select encode(hash, 'hex') from arcd_tokens where owner = 'shop-x'")
          == hashlib.sha256(t_owner.encode()).hexdigest(), "the table holds the token's SHA-256")
    check(psql("select role || '|' || label || '|' || (revoked_at is null) from arcd_tokens where owner = 'shop-x'")
          == "owner|CRM (test)|true", "with its role and label, not revoked")

    # ---- accepted within a second, by every daemon already running ----
    took = everywhere(listening, t_owner, 1, 1.0)
    check(took is not None and time.time() - made_at < 1.5,
          f"both LISTENing daemons (started before the token existed) accept it within a second ({took})")
    took = everywhere([c], t_owner, 1, 1.5)
    check(took is not None, f"the daemon without LISTEN (pool of 1) accepts it within its 1 s tick ({took})")

    # The secret is nowhere in the database: every row of every table, as text.
    secret = t_owner[len("arcd_"):]
    tables = psql("select quote_ident(table_schema) || '.' || quote_ident(table_name) from information_schema.tables"
                  " where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'").split()
    found = [t for t in tables if psql(f"select count(*) from {t} x where x::text like '%{secret}%'") != "0"]
    check(len(tables) >= 3 and not found, f"the token's text is in no row of {len(tables)} tables ({found})")
    if shutil.which("pg_dump"):
        dump = subprocess.run(["pg_dump", "--data-only"], capture_output=True, text=True, check=True).stdout
        check(secret not in dump and t_owner.encode().hex() not in dump, "nor anywhere in pg_dump's output")
    else:
        print("skip pg_dump: not on PATH")

    # ---- its role: an owner token sees only its owner's projects ----
    st, _, js = a.upload(photo, video, token=t_owner)
    check(st == 202, "the database owner token creates a project")
    p_x = js["arId"]
    check(psql(f"select owner from ar_projects where id = '{p_x}'") == "shop-x", "owned by the token's owner")
    for d, name in ((a, "a"), (b, "b"), (c, "c")):
        st, _, _ = d.json("GET", f"/api/ar/status/{p_x}", token=t_owner)
        st2, _, _ = d.json("GET", f"/api/ar/status/{p_admin}", token=t_owner)
        st3, _, _ = d.json("GET", f"/api/ar/status/{p_cfg}", token=t_owner)
        check(st == 200 and st2 == 404 and st3 == 404,
              f"daemon {name}: the owner token sees its project, not the others ({st}, {st2}, {st3})")
    st, _, _ = a.request("GET", "/metrics", headers={"Authorization": f"Bearer {t_owner}"})
    check(st == 403, "an owner token is not an admin token (/metrics: 403)")
    st, _, _ = a.json("GET", f"/api/ar/status/{p_x}", token=CFG_TOKEN)
    check(st == 404, "and another owner's config token does not see its project")

    r = token_cmd("create", "--role", "admin", "--owner", "crm-admin")
    check(r.returncode == 0, "an admin token is made")
    t_admin = r.stdout.strip()
    id_admin = psql("select id from arcd_tokens where owner = 'crm-admin'")
    check(everywhere(daemons, t_admin, 1, 1.5) is not None, "every daemon accepts it")
    seen = [a.json("GET", f"/api/ar/status/{p}", token=t_admin)[0] for p in (p_admin, p_cfg, p_x)]
    check(seen == [200, 200, 200], f"an admin token sees every project ({seen})")
    st, _, _ = b.request("GET", "/metrics", headers={"Authorization": f"Bearer {t_admin}"})
    check(st == 200, "and the admin routes (/metrics: 200)")

    # ---- list: everything but the secret ----
    r = token_cmd("list")
    check(r.returncode == 0 and id_owner in r.stdout and id_admin in r.stdout and "shop-x" in r.stdout
          and "crm-admin" in r.stdout and "CRM (test)" in r.stdout and "admin" in r.stdout,
          "token list shows ids, owners, roles and labels")
    hashes = psql("select encode(hash, 'hex') from arcd_tokens").split()
    check(not any(s in r.stdout + r.stderr for s in [t_owner, t_admin, secret] + hashes),
          "but neither the tokens nor their hashes")
    r = token_cmd("list", "--json")
    items = json.loads(r.stdout) if r.returncode == 0 else []
    mine = [i for i in items if i["id"] == id_owner]
    check(len(items) == 2 and all(set(i) == {"id", "owner", "role", "label", "createdAt", "revokedAt"} for i in items)
          and mine and mine[0]["owner"] == "shop-x" and mine[0]["role"] == "owner"
          and mine[0]["label"] == "CRM (test)" and mine[0]["revokedAt"] is None
          and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", mine[0]["createdAt"]),
          f"token list --json: id, owner, role, label, createdAt, revokedAt ({items})")
    check(not any(s in r.stdout for s in [t_owner, t_admin, secret] + hashes), "--json has no secret either")

    # ---- requests that began with the token outlive its revocation ----
    # An event stream on a project still running, and an upload whose body
    # is still arriving: both hold the token while it is revoked.
    st, _, js = a.upload(big, video, token=t_owner)
    p_slow = js["arId"]
    events, event_times = [], []

    def stream():
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
        conn.request("GET", f"/api/ar/events/{p_slow}", headers={"Authorization": f"Bearer {t_owner}"})
        resp = conn.getresponse()
        events.append(resp.status)
        for line in resp:
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:])["status"])
                event_times.append(time.time())
        conn.close()

    streamer = threading.Thread(target=stream)
    streamer.start()
    until(lambda: len(events) >= 2, 10)
    boundary = "arcd" + uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p.png"\r\n'
            f"Content-Type: image/png\r\n\r\n").encode() + photo + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\n'
            f"Content-Type: video/mp4\r\n\r\n").encode() + video + f"\r\n--{boundary}--\r\n".encode()
    up = http.client.HTTPConnection("127.0.0.1", b.port, timeout=60)
    up.putrequest("POST", "/api/ar/create-demo")
    up.putheader("Authorization", f"Bearer {t_owner}")
    up.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    up.putheader("Content-Length", str(len(body)))
    up.endheaders()
    up.send(body[:len(body) // 2])
    time.sleep(0.2)  # the head has been taken, with the token

    # ---- revoke: refused everywhere within a second, no restart ----
    r = token_cmd("revoke", id_owner)
    revoked_at = time.time()
    check(r.returncode == 0 and id_owner in r.stdout and "revoked" in r.stdout,
          f"token revoke ({r.returncode}: {r.stdout.strip()} {r.stderr.strip()})")
    took = everywhere(listening, t_owner, 0, 1.0)
    check(took is not None and time.time() - revoked_at < 1.5,
          f"both LISTENing daemons refuse the revoked token within a second ({took})")
    took = everywhere([c], t_owner, 0, 1.5)
    check(took is not None, f"the daemon without LISTEN refuses it within its 1 s tick ({took})")
    # Status changes of the streamed project: each makes the stream read the
    # token it began with again.
    for _ in range(5):
        psql(f"select pg_notify('arcd_status', '{p_slow}')")
        time.sleep(0.05)
    up.send(body[len(body) // 2:])
    resp = up.getresponse()
    up_js = json.loads(resp.read())
    up.close()
    check(resp.status == 202 and psql(f"select owner from ar_projects where id = '{up_js['arId']}'") == "shop-x",
          f"an upload that began before the revocation ends as it began (202, owner shop-x) ({resp.status})")
    streamer.join(120)
    check(not streamer.is_alive() and events and events[0] == 200 and events[-1] in ("ready", "error")
          and event_times[-1] > revoked_at,
          f"an event stream that began before the revocation runs to the project's end, after it ({events})")
    check(all(d.proc.poll() is None for d in daemons), "every daemon is still up")

    # ---- what stays ----
    for d, name in ((a, "a"), (b, "b"), (c, "c")):
        check(accepted(d, ADMIN_TOKEN) == 1 and accepted(d, CFG_TOKEN) == 1 and accepted(d, t_admin) == 1,
              f"daemon {name}: config tokens and the other database token still work")
    r = token_cmd("list", "--json")
    mine = [i for i in json.loads(r.stdout) if i["id"] == id_owner]
    check(mine and mine[0]["revokedAt"] is not None, "token list shows when it was revoked")

    # ---- a daemon started now knows the tokens from its first request ----
    for i in range(3):
        d = Daemon(storage=a.storage, auth=cfg_auth)
        others.append(d)
        got = (accepted(d, t_admin), accepted(d, t_owner))
        check(got == (1, 0), f"a daemon started after the tokens were made: accepted/refused from its first request ({i}: {got})")
        st = d.stop()
        check(st == 0, f"and it stops cleanly ({st})")

    # ---- the LISTEN connections cut: changes are still seen ----
    cut = psql("select count(pg_terminate_backend(pid)) from pg_stat_activity"
               " where application_name = 'arcd' and query like 'LISTEN%'")
    r = token_cmd("create", "--role", "owner", "--owner", "shop-z")
    t_z = r.stdout.strip()
    took = everywhere(daemons, t_z, 1, 2.0)
    check(cut == "2" and took is not None,
          f"with their LISTEN connections cut ({cut}), the daemons still see a new token ({took})")

    # ---- bad input ----
    r = token_cmd("revoke", id_owner)
    check(r.returncode == 3 and "already revoked" in r.stderr, f"revoking it again: exit 3 ({r.stderr.strip()})")
    r = token_cmd("revoke", str(uuid.uuid4()))
    check(r.returncode == 3 and "no token has the ID" in r.stderr, f"an unknown id: exit 3 ({r.stderr.strip()})")
    r = token_cmd("revoke", "12345")
    check(r.returncode == 2 and "not a token ID" in r.stderr, f"not an id: exit 2 ({r.stderr.strip()})")
    r = token_cmd("revoke")
    check(r.returncode == 2 and "give its ID" in r.stderr, "no id: exit 2")
    r = token_cmd("create", "--role", "owner")
    check(r.returncode == 2 and "--owner NAME is required" in r.stderr and not r.stdout,
          f"no --owner: exit 2 ({r.stderr.strip().splitlines()[0]})")
    r = token_cmd("create", "--role", "root", "--owner", "x")
    check(r.returncode == 2 and "--role must be owner or admin" in r.stderr, "a bad role: exit 2")
    r = token_cmd("create", "--owner", "x")
    check(r.returncode == 2 and "--role is required" in r.stderr, "no role: exit 2")
    for owner, what in (("a\tb", "a control character"), ("x" * 129, "129 characters"),
                        ("é" * 100, "200 bytes"), ("", "empty")):
        r = token_cmd("create", "--role", "owner", "--owner", owner)
        check(r.returncode == 2 and "--owner must be 1 to 128 characters" in r.stderr,
              f"an owner with {what}: exit 2")
    r = token_cmd("create", "--role", "owner", "--owner", "ok", "--label", "a\nb")
    check(r.returncode == 2 and "--label" in r.stderr, "a label with a newline: exit 2")
    r = token_cmd("frob")
    check(r.returncode == 2 and "unknown command 'frob'" in r.stderr, "an unknown token command: exit 2")
    r = token_cmd("list", env=cli_env(DATABASE_URL="postgresql://127.0.0.1:1/none"))
    check(r.returncode == 4 and "cannot connect" in r.stderr, f"no database: exit 4 ({r.stderr.strip()[:80]})")
    check(psql("select count(*) from arcd_tokens") == "3", "bad input made no token")

    for d, name in ((a, "a"), (b, "b"), (c, "c")):
        check(t_owner not in d.logs() and t_admin not in d.logs(), f"daemon {name}'s log has no token")
    for d, name in ((a, "a"), (b, "b"), (c, "c")):
        st = d.stop()
        check(st == 0, f"daemon {name} stops cleanly ({st})")
        if st != 0:
            print(d.logs()[-3000:])
finally:
    for d in others + [c, b, a]:
        d.cleanup()
    shutil.rmtree(work, ignore_errors=True)
finish()
