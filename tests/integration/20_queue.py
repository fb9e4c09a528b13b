"""The job queue under load and faults, against a real PostgreSQL: 20
concurrent uploads; kill -9 of a worker mid-job; kill -9 of the daemon
mid-job and a restart; PostgreSQL restarted under load; two daemons sharing
one database and storage. After each, every accepted project ends ready (or
error with a reason) and no temporary file is left.
usage (inside pg_virtualenv): 20_queue.py ARCD MKIMAGE"""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from harness import Daemon, check, fake_mp4, finish, sample_mp4, photo_bytes, psql

MKIMAGE = sys.argv[2]
# Under the sanitizers (CI's second pass) fewer jobs at once: the same code
# paths, a third of the time (CI stays under 30 minutes).
N = 8 if os.environ.get("ARCD_TEST_SANITIZED") == "1" else 20
M = 6 if os.environ.get("ARCD_TEST_SANITIZED") == "1" else 12
work = tempfile.mkdtemp(prefix="arcd-queue-")
big_path = os.path.join(work, "big.jpg")
# A 36-megapixel photo takes a worker a few seconds: long enough to hit.
subprocess.run([MKIMAGE, "texture", "6000", "6000", "7", big_path], check=True)
with open(big_path, "rb") as f:
    big = f.read()
small = photo_bytes("card.png")
video = sample_mp4()
# An 8 s 720p clip with one keyframe: it must be re-encoded, which takes a
# worker seconds.
slow_path = os.path.join(work, "slow.mp4")
subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "8",
                "-c:v", "libx264", "-preset", "ultrafast", "-g", "1000", "-pix_fmt", "yuv420p", slow_path],
               check=True)
with open(slow_path, "rb") as f:
    slow_video = f.read()


def attempts(ar):
    return int(psql(f"select attempts from ar_projects where id = '{ar}'"))


def wait_stage(d, ar, stage, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        _, _, js = d.json("GET", f"/api/ar/status/{ar}")
        if js and js["stage"] == stage:
            return True
        time.sleep(0.02)
    return False


# ---- N (20) concurrent uploads ----
d = Daemon(limits={"uploadsPerMinute": 1000})
try:
    results = []
    lock = threading.Lock()

    def one():
        r = d.upload(small, video)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=one) for _ in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [js["arId"] for st, _, js in results if st == 202]
    check(len(ids) == N, f"{N} concurrent uploads accepted ({len(ids)})")
    done = [d.wait_status(a, timeout=120) for a in ids]
    check(all(js["status"] == "ready" for js in done), f"all {N} end ready")
    check(all(attempts(a) == 1 for a in ids), "each ran exactly once")
    check(d.metric("arcd_db_pool_connected") <= 4, "the pool never holds more than its 4 connections")
    active = int(psql("select count(*) from pg_stat_activity where application_name = 'arcd'"))
    check(active <= 4, f"pg_stat_activity shows {active} arcd connections (pool size 4)")

    # ---- kill -9 of a worker mid-job ----
    st, _, js = d.upload(big, video)
    ar = js["arId"]
    check(wait_stage(d, ar, "marker"), "the big job reaches the marker stage")
    # Only the worker running the job (the busy one): killing the idle one
    # too could catch the job's immediate retry on it.
    def cpu(pid):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    os.kill(max(d.worker_pids(), key=cpu), signal.SIGKILL)
    final = d.wait_status(ar, timeout=120)
    check(final["status"] == "ready", f"after kill -9 of its worker the job is retried and ready ({final['status']}, {final['errorMessage']})")
    check(attempts(ar) == 2, f"it took a second attempt ({attempts(ar)})")
    check(d.metric("arcd_worker_restarts_total") >= 1, "the killed workers were replaced")
    check("worker" in d.logs() and "signal 9" in d.logs(), "the daemon logged the worker's death")
    check(d.tmp_files() == [], "no temporary files")
finally:
    d.cleanup()

# ---- kill -9 of the daemon mid-job, then a restart ----
d = Daemon(queue={"leaseSeconds": 2, "pollSeconds": 1})
try:
    st, _, js = d.upload(big, video)
    ar = js["arId"]
    check(wait_stage(d, ar, "marker"), "the job is running")
    d.kill(signal.SIGKILL)
    check(psql(f"select status from ar_projects where id = '{ar}'") == "processing",
          "after kill -9 the row is still leased")
    d.start()
    final = d.wait_status(ar, timeout=120)
    check(final["status"] == "ready", f"a restarted daemon takes the lapsed lease over: ready ({final['errorMessage']})")
    check(attempts(ar) == 2, f"second attempt ({attempts(ar)})")
finally:
    d.cleanup()

# ---- PostgreSQL restarted under load ----
d = Daemon(limits={"uploadsPerMinute": 1000}, database={"acquireTimeoutMs": 2000})
try:
    accepted, refused = [], 0
    cluster = os.environ.get("PGCLUSTER", "15/regress").split("/")
    for i in range(M):
        if i == 4:
            subprocess.run(["pg_ctlcluster", cluster[0], cluster[1], "restart", "-m", "fast"], check=True,
                           capture_output=True)
        st, _, js = d.upload(small, video)
        if st == 202:
            accepted.append(js["arId"])
        else:
            refused += 1
            check(st == 503 and js.get("code"), f"an upload during the outage gets a clean {st} {js}")
        time.sleep(0.1)
    check(len(accepted) >= M - 4, f"{len(accepted)} of {M} uploads accepted around the restart")
    done = [d.wait_status(a, timeout=120) for a in accepted]
    check(all(js and js["status"] == "ready" for js in done), "every accepted upload ends ready")
    check(d.metric("arcd_db_reconnects_total") >= 1, "the pool reconnected")
    st, _, js = d.json("GET", "/readyz")
    check(st == 200, "ready again after the restart")
    # With PostgreSQL down, requests wait acquireTimeoutMs for a connection,
    # then get 503 with Retry-After; readiness says so; it all comes back.
    subprocess.run(["pg_ctlcluster", cluster[0], cluster[1], "stop", "-m", "fast"], check=True, capture_output=True)
    t0 = time.time()
    st, h, js = d.json("GET", f"/api/ar/status/{accepted[0]}")
    check(st == 503 and h.get("retry-after") and js.get("code") == "database_unavailable"
          and time.time() - t0 < 10, f"database down: 503 with Retry-After ({st}, {time.time() - t0:.1f} s)")
    st, _, js = d.json("GET", "/readyz")
    check(st == 503 and js["database"] is False, "readyz: not ready without the database")
    st, _, js = d.json("GET", "/healthz")
    check(st == 200, "healthz: still alive")
    subprocess.run(["pg_ctlcluster", cluster[0], cluster[1], "start"], check=True, capture_output=True)
    deadline = time.time() + 30
    while time.time() < deadline and d.json("GET", "/readyz")[0] != 200:
        time.sleep(0.2)
    st, _, js = d.json("GET", f"/api/ar/status/{accepted[0]}")
    check(st == 200 and js["status"] == "ready", "after PostgreSQL is back, status answers again")
    check(d.tmp_files() == [], "no temporary files")
finally:
    d.cleanup()

# ---- failures: bad input fails for good, a job over its time limit is retried then failed ----
d = Daemon(limits={"uploadsPerMinute": 1000}, workers={"jobTimeoutSeconds": 1, "count": 2},
           queue={"maxAttempts": 2, "retryBaseSeconds": 0})
try:
    jpeg = photo_bytes("pictarize.jpg")
    st, _, js = d.upload(jpeg[: len(jpeg) // 3], video)
    check(st == 202, "a truncated JPEG passes the magic-byte check")
    final = d.wait_status(js["arId"], timeout=60)
    check(final["status"] == "error" and "truncated JPEG" in (final["errorMessage"] or ""),
          f"it ends in error with a readable reason: {final['errorMessage']}")
    check(attempts(js["arId"]) == 1, "bad input is not retried")
    st, _, js = d.upload(big, slow_video)
    final = d.wait_status(js["arId"], timeout=120)
    check(final["status"] == "error" and "time limit" in (final["errorMessage"] or "")
          and "gave up after 2 attempts" in final["errorMessage"],
          f"a job past its time limit is killed, retried, then failed: {final['errorMessage']}")
    check(d.tmp_files() == [], "no temporary files")
finally:
    d.cleanup()

# ---- two daemons, one database, one storage ----
a = Daemon(limits={"uploadsPerMinute": 1000})
b = Daemon(storage=a.storage, limits={"uploadsPerMinute": 1000})
try:
    ids = []
    for i in range(M):
        st, _, js = (a if i % 2 else b).upload(small if i % 3 else big, video)
        ids.append(js["arId"])
    done = [a.wait_status(x, timeout=180) for x in ids]
    check(all(js["status"] == "ready" for js in done), f"two daemons: all {M} jobs ready")
    check(all(attempts(x) == 1 for x in ids), "no job ran twice")
    ca, cb = a.metric("arcd_compile_duration_ms_count"), b.metric("arcd_compile_duration_ms_count")
    check(ca + cb == M and ca > 0 and cb > 0, f"both daemons did work ({ca:.0f} + {cb:.0f})")
finally:
    a.cleanup()
    b.kill()
    os.unlink(b.config)
finish()
