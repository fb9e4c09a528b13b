"""What a worker process holds (src/daemon/workers.c, workers/worker.c,
workers/sandbox.c): none of the daemon's secrets in its environment, no
descriptor beyond its stdio even when the daemon inherited some, a seccomp
filter, not dumpable; a job still ends ready; io_uring, the way around the
socket calls, kills the worker; a damaged video fails its job cleanly, not
the worker.
usage (inside pg_virtualenv): 75_worker_isolation.py ARCD MKIMAGE"""
import os
import socket
import tempfile
import time

from harness import ADMIN_TOKEN, Daemon, check, finish, photo_bytes, psql, sample_mp4

SECRETS = {
    "ARCD_ADMIN_TOKEN": ADMIN_TOKEN,
    "ARCD_TEST_SECRET": "arcd-test-secret-5f1d0c",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-9b7e21",
}
# The database's password, set by pg_virtualenv: the daemon needs it, no worker does.
if os.environ.get("PGPASSWORD"):
    SECRETS["PGPASSWORD"] = os.environ["PGPASSWORD"]
ALLOWED_NAMES = {"PATH", "ARCD_TEST_FORBIDDEN_CALL", "ARCD_TEST_WORKER_LIE", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                 "LSAN_OPTIONS"}
STRAY_FDS = (10, 251)


def environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        raw = f.read()
    return raw, dict(kv.split(b"=", 1) for kv in raw.split(b"\0") if b"=" in kv)


def fds(pid):
    return sorted(int(n) for n in os.listdir(f"/proc/{pid}/fd"))


def status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def idle_workers(d, want=2, timeout=20):
    """The workers' pids once each has said hello (idle, no job open)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        pids = d.worker_pids()
        if len(pids) == want and d.metric('arcd_workers{state="idle"}') == want:
            return pids
        time.sleep(0.1)
    return d.worker_pids()


# Two descriptors the daemon inherits without close-on-exec, at the numbers
# the issue saw: a listening socket and an open file.
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
secret_file = tempfile.TemporaryFile()
os.dup2(listener.fileno(), STRAY_FDS[0])
os.dup2(secret_file.fileno(), STRAY_FDS[1])

d = Daemon(env={k: v for k, v in SECRETS.items() if k != "ARCD_ADMIN_TOKEN"}, pass_fds=STRAY_FDS)
try:
    daemon_raw, _ = environ(d.proc.pid)
    check(all(v.encode() in daemon_raw for v in SECRETS.values()), "the daemon has the secrets in its environment")
    check(set(STRAY_FDS) <= set(fds(d.proc.pid)), f"the daemon inherited fds {STRAY_FDS}")

    pids = idle_workers(d)
    check(len(pids) == 2, f"two workers, idle ({pids})")
    for pid in pids:
        raw, env = environ(pid)
        leaked = [k for k, v in SECRETS.items() if v.encode() in raw]
        check(not leaked, f"worker {pid}: no secret in /proc/{pid}/environ ({leaked or 'none'})")
        names = {k.decode() for k in env}
        check(names <= ALLOWED_NAMES and "PATH" in names,
              f"worker {pid}: only {sorted(ALLOWED_NAMES)} in its environment ({sorted(names)})")
        check(not any(n.startswith("PG") or n == "DATABASE_URL" for n in names),
              f"worker {pid}: no PG* and no DATABASE_URL")
        check(fds(pid) == [0, 1, 2], f"worker {pid}: only fds 0, 1, 2 open ({fds(pid)})")
        st = status_fields(pid)
        check(st.get("Seccomp") == "2" and st.get("NoNewPrivs") == "1",
              f"worker {pid}: a seccomp filter and no_new_privs (Seccomp {st.get('Seccomp')}, "
              f"NoNewPrivs {st.get('NoNewPrivs')})")
        uid = int(st["Uid"].split()[1])
        if uid != 0:
            # A non-dumpable process's /proc files are root's: another process
            # of the worker's user cannot open its mem or environ.
            check(os.stat(f"/proc/{pid}/mem").st_uid == 0,
                  f"worker {pid} (uid {uid}): not dumpable, its /proc/{pid}/mem is root's")
        else:
            print(f"skip dumpable check: worker {pid} runs as root")

    # A full job still goes through every stage behind the filter.
    st, _, js = d.upload(photo_bytes("card.png"), sample_mp4(), photo_name="card.png")
    check(st == 202, f"upload accepted ({st})")
    final = d.wait_status(js["arId"], timeout=120)
    check(final["status"] == "ready", f"the job ends ready behind the sandbox ({final.get('errorMessage')})")
    check(d.metric("arcd_worker_restarts_total") == 0, "no worker was killed on the way")
    for pid in idle_workers(d):
        check(fds(pid) == [0, 1, 2], f"after the job, worker {pid}: fds 0, 1, 2 ({fds(pid)})")
finally:
    d.cleanup()
    os.close(STRAY_FDS[0])
    os.close(STRAY_FDS[1])

# io_uring makes and connects sockets without the socket calls: the
# allow-list refuses io_uring_setup, the worker dies, the job fails with the
# sandbox's reason and the daemon carries on.
d = Daemon(queue={"maxAttempts": 1}, env={"ARCD_TEST_FORBIDDEN_CALL": "io_uring"})
try:
    st, _, js = d.upload(photo_bytes("pictarize.jpg"), sample_mp4())
    final = d.wait_status(js["arId"], timeout=60)
    reason = final.get("errorMessage") or ""
    check(final["status"] == "error" and "signal 31, a forbidden system call, stopped by the sandbox" in reason,
          f"io_uring_setup() in a worker: killed by the sandbox, the job fails with the reason ({reason})")
    check("sandbox is off" not in d.logs(), "io_uring_setup() never returned")
    st, _, _ = d.request("GET", "/healthz")
    check(st == 200 and d.proc.poll() is None, "the daemon is still up")
    check(d.metric("arcd_worker_restarts_total") >= 1, "the worker was replaced")
finally:
    d.cleanup()

# A worker's answers are input: one that says "done" without its files, or
# with a file it removed, or with numbers out of range, is not believed (the
# project once became ready with no files, and an out-of-range time, or a
# print size that was not a number, made the final update fail and the job
# run again).
for lie, want in (("nofiles", "the worker reported success without marker.mind"),
                  ("missing", "the worker reported success without its files (index.html not found)"),
                  ("ms", "the worker broke the protocol: protocol: done: 'ms' is out of range"),
                  ("print", "the worker broke the protocol: protocol: done item print: 'width'")):
    d = Daemon(queue={"maxAttempts": 2, "retryBaseSeconds": 0}, env={"ARCD_TEST_WORKER_LIE": lie})
    try:
        st, _, js = d.upload(photo_bytes("card.png"), sample_mp4(), photo_name="card.png")
        final = d.wait_status(js["arId"], timeout=120)
        reason = final.get("errorMessage") or ""
        check(final["status"] == "error" and want in reason and "gave up after 2 attempts" in reason,
              f"a worker lying '{lie}': the attempts fail, the project ends in error ({reason})")
        check(psql(f"select count(*) from ar_projects where id = '{js['arId']}' and status = 'ready'") == "0",
              "it never became ready")
        check("out of range" not in d.logs() or lie == "ms", "no database update failed on the way")
        check("invalid input syntax" not in d.logs(), "no statement failed on the worker's numbers")
    finally:
        d.cleanup()

# A damaged upload, tests/data/sample.mp4 cut to 2/3 of its bytes (an upload
# that stopped half-way), fails its job at the first attempt with a reason
# that names the video. FFmpeg's first error message about it used to kill
# the worker behind the sandbox (SIGSYS: FFmpeg's own logger asks isatty(2),
# an ioctl), and the job was retried until it had crashed three workers.
d = Daemon()
try:
    whole = sample_mp4()
    st, _, js = d.upload(photo_bytes("card.png"), whole[: len(whole) * 2 // 3], photo_name="card.png")
    check(st == 202, f"a cut-short video is accepted for processing ({st})")
    final = d.wait_status(js["arId"], timeout=120)
    reason = final.get("errorMessage") or ""
    check(final["status"] == "error" and "video" in reason and "cut short" in reason,
          f"a cut-short video: the project ends in error, saying why ({final['status']}: {reason})")
    attempts = psql(f"select attempts from ar_projects where id = '{js['arId']}'")
    check(attempts == "1", f"at the first attempt: the failure is permanent ({attempts} attempts)")
    logs = d.logs()
    check("worker crashed" not in logs and "signal 31" not in logs,
          "no worker crashed on it (nothing in the daemon's log)")
    check(d.metric("arcd_worker_restarts_total") == 0, "no worker was replaced")
    check("partial file" in logs, "FFmpeg's messages reach the daemon's log")
finally:
    d.cleanup()
finish()
