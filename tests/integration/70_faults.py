"""Faults as production has them, and nothing accepted is lost: the storage
disk full (a small tmpfs) while uploading and while a worker writes its
results; PostgreSQL stopped for 10 s while jobs run and uploads arrive; a
worker over its memory limit. After each, every accepted project ends ready
or error with a reason, and no temporary file is left behind. (kill -9 of a
worker and of the daemon: 20_queue.py.)
usage (inside pg_virtualenv): 70_faults.py ARCD MKIMAGE"""
import os
import subprocess
import sys
import tempfile
import time

from harness import Daemon, check, finish, photo_bytes, psql, sample_mp4

MKIMAGE = sys.argv[2]
asan = "ASAN_OPTIONS" in os.environ


def leftovers(storage):
    """Temporary files anywhere in the storage: uploads in flight, atomic writes."""
    found = []
    for dirpath, _, files in os.walk(storage):
        found += [os.path.join(dirpath, f) for f in files if f.endswith((".part", ".tmp")) or ".tmp" in f]
    return found


def tmpfs(size):
    d = tempfile.mkdtemp(prefix="arcd-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", d], capture_output=True, text=True)
    return d if r.returncode == 0 else None


photo, video = photo_bytes("pictarize.jpg"), sample_mp4()

# ---- the disk full while an upload is stored ----
small = tmpfs("2m")
if small is None:
    print("skip the disk-full cases: cannot mount a tmpfs here (not root?)")
else:
    d = Daemon(storage=small)
    try:
        st, _, js = d.upload(photo, video + os.urandom(3_000_000))
        check(st == 507 and js["code"] == "storage_full", f"an upload that does not fit: 507 storage_full ({st} {js})")
        # The daemon answers at once and removes the partial files when the
        # write in flight returns: give it a moment.
        deadline = time.time() + 5
        while time.time() < deadline and (leftovers(small) or os.listdir(os.path.join(small, "ar-storage"))):
            time.sleep(0.1)
        check(leftovers(small) == [] and os.listdir(os.path.join(small, "ar-storage")) == [],
              f"nothing of it is left behind ({leftovers(small)})")
        check(psql("select count(*) from ar_projects") == "0", "and no project was recorded")
        # ---- the disk full while the worker writes its results ----
        # The upload fits (about 0.2 MB); the print, the marker and the
        # features (about 2 MB) do not.
        st, _, js = d.upload(photo, video)
        check(st == 202, "a small upload fits and is accepted")
        final = d.wait_status(js["arId"], timeout=120)
        check(final["status"] == "error" and "No space left on device" in (final["errorMessage"] or ""),
              f"its job ends in error with the reason: {final['errorMessage']}")
        check(leftovers(small) == [], f"no temporary file is left behind ({leftovers(small)})")
        st, _, _ = d.request("GET", "/healthz")
        check(st == 200, "the daemon is fine")
    finally:
        d.cleanup()
        subprocess.run(["umount", small])
        os.rmdir(small)
    psql("delete from ar_projects")

# ---- PostgreSQL stopped for 10 s while jobs run and uploads arrive ----
cluster = os.environ.get("PGCLUSTER", "15/regress").split("/")
d = Daemon(limits={"uploadsPerMinute": 1000}, queue={"leaseSeconds": 3},
           database={"acquireTimeoutMs": 1000})
try:
    accepted = []
    for i in range(4):
        st, _, js = d.upload(photo, video)
        if st == 202:
            accepted.append(js["arId"])
    subprocess.run(["pg_ctlcluster", cluster[0], cluster[1], "stop", "-m", "fast"], check=True, capture_output=True)
    t_stop = time.time()
    outage = []
    while time.time() - t_stop < 10:
        st, _, js = d.upload(photo, video)
        outage.append(st)
        if st == 202:
            accepted.append(js["arId"])
        time.sleep(0.5)
    subprocess.run(["pg_ctlcluster", cluster[0], cluster[1], "start"], check=True, capture_output=True)
    check(all(s in (202, 503) for s in outage) and 503 in outage,
          f"during the 10 s outage uploads get a clean 503 ({sorted(set(outage))})")
    deadline = time.time() + 30
    while time.time() < deadline and d.json("GET", "/readyz")[0] != 200:
        time.sleep(0.2)
    for i in range(4):
        st, _, js = d.upload(photo, video)
        if st == 202:
            accepted.append(js["arId"])
    done = [d.wait_status(a, timeout=180) for a in accepted]
    states = [js["status"] if js else None for js in done]
    check(len(accepted) >= 8 and all(s == "ready" for s in states),
          f"every one of the {len(accepted)} accepted projects ends ready ({states})")
    check(d.tmp_files() == [] and leftovers(d.storage) == [], "no temporary files")
finally:
    d.cleanup()

# ---- a worker over its memory limit ----
if asan:
    print("skip the memory-limit case: AddressSanitizer builds run workers without one")
else:
    # A 38-megapixel interlaced PNG: libpng needs every row in memory, about
    # 270 MB with the output; the worker may have 350 MB of address space.
    tmp = tempfile.mkdtemp()
    big = os.path.join(tmp, "big.png")
    subprocess.run([MKIMAGE, "texture", "7000", "5500", "3", os.path.join(tmp, "big.pgm")], check=True)
    subprocess.run([MKIMAGE, "convert", os.path.join(tmp, "big.pgm"), "interlaced", big], check=True)
    d = Daemon(workers={"memoryMb": 350, "count": 1}, queue={"maxAttempts": 1})
    try:
        with open(big, "rb") as f:
            st, _, js = d.upload(f.read(), video)
        final = d.wait_status(js["arId"], timeout=120)
        check(final["status"] == "error" and final["errorMessage"],
              f"a 38-megapixel interlaced PNG in a worker limited to 350 MB: error with a reason ({final['errorMessage']})")
        st, _, _ = d.request("GET", "/healthz")
        check(st == 200, "the daemon is fine")
        st, _, js = d.upload(photo, video)
        check(d.wait_status(js["arId"], timeout=120)["status"] == "ready",
              "the next job, within the limit, ends ready on a new worker")
        check(leftovers(d.storage) == [], "no temporary files")
    finally:
        d.cleanup()

# The client resets its connection while the project's INSERT runs (held
# by a lock on the items' table here): the INSERT commits all the same, so
# the upload's files must stay. (They were removed, and the project then
# failed with "cannot open" on each attempt.)
d = Daemon(limits={"uploadsPerMinute": 1000}, workers={"count": 1})
try:
    import socket
    import struct
    b = "XbOuNdArY"
    end = f"\r\n--{b}--\r\n".encode()
    body = (f'--{b}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
            'Content-Type: image/jpeg\r\n\r\n').encode() + photo \
        + f'\r\n--{b}\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\n'.encode() \
        + b"Content-Type: video/mp4\r\n\r\n" + video + end
    before = set(psql("select id from ar_projects").split())
    locker = subprocess.Popen(["psql", "-Atqc", "BEGIN; LOCK TABLE ar_project_items IN ACCESS EXCLUSIVE MODE;"
                               " SELECT pg_sleep(3); COMMIT;"], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall((f"POST /api/ar/create-demo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {d.admin_token}\r\n"
               f"Content-Type: multipart/form-data; boundary={b}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
              + body[:-len(end)])
    time.sleep(0.5)
    s.sendall(end)
    time.sleep(1.5)  # the files are in place; the INSERT waits for the lock
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # a reset
    locker.wait()
    ar = ""
    for _ in range(50):
        new = set(psql("select id from ar_projects").split()) - before
        ar = new.pop() if len(new) == 1 else ""
        if ar:
            break
        time.sleep(0.1)
    check(ar != "", "the INSERT committed after the client left")
    final = d.wait_status(ar, timeout=90) if ar else {}
    check(final.get("status") == "ready",
          f"the project of a client that left during its INSERT keeps its files and ends ready "
          f"({final.get('status')}: {final.get('errorMessage')})")
finally:
    d.cleanup()
finish()
