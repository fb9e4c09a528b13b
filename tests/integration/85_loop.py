"""The daemon's loop makes no file-system call: uploads (accepted and
refused), results, project files, the viewer's scripts and the sweep do
their file work on libuv's threadpool, so slow or network storage never
stops the loop. Checked with strace on a real daemon: every file call made
by the loop's thread (whose id is the process id) is a failure.
usage (inside pg_virtualenv): 85_loop.py ARCD MKIMAGE"""
import os
import re
import signal
import subprocess
import tempfile
import time

from harness import Daemon, check, finish, photo_bytes, sample_mp4

CALLS = ("open,openat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,fsync,fdatasync,"
         "chown,fchown,fchownat,lchown,stat,lstat,newfstatat,statx,truncate,ftruncate,link,linkat,"
         "symlink,symlinkat,readlink,readlinkat,access,faccessat,faccessat2,getdents64")

# The demo lives 14 s: long enough for its job to end ready first under
# AddressSanitizer and strace (at 2 s it was already expired when it became
# ready, and the sweep removed it before the test saw it ready).
d = Daemon(demo={"ttlHours": 0.004, "sweepSeconds": 1}, limits={"uploadsPerMinute": 1000})
trace = tempfile.NamedTemporaryFile(prefix="arcd-strace-", suffix=".txt", delete=False).name
try:
    pid = d.proc.pid
    st = subprocess.Popen(["strace", "-f", "-qq", "-e", f"trace={CALLS}", "-o", trace, "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.5)  # attached to every thread
    check(st.poll() is None, "strace follows the daemon")

    photo, video = photo_bytes("pictarize.jpg"), sample_mp4()
    status, _, js = d.upload(photo, video)
    check(status == 202, f"an upload is accepted ({status})")
    ar = js["arId"]
    final = d.wait_status(ar)
    check(final and final["status"] == "ready", "and ends ready")
    for name in ("marker.mind", "ar-video.mp4", "index.html", "qr-code.png", "enhanced-photo.jpg"):
        status, _, body = d.request("GET", f"/objects/ar-storage/{ar}/{name}")
        check(status == 200 and body, f"{name} is served")
    status, _, _ = d.request("GET", f"/objects/ar-storage/{ar}/ar-video.mp4", headers={"Range": "bytes=0-1"})
    status2, _, _ = d.request("GET", f"/objects/ar-storage/{ar}/nothing.png")
    check(status == 206 and status2 == 404, "a range and a missing file")
    status, _, _ = d.request("GET", "/vendor/aframe.min.js")
    check(status == 200, "a viewer script is served")
    status, _, _ = d.upload(b"not an image at all, just text", video)
    check(status == 415, f"a refused upload ({status}) is cleaned up")
    status, _, js = d.create([(photo, video), (photo_bytes("card.png"), None)])
    check(status == 202, "a two-pair project is accepted")
    d.wait_status(js["arId"])
    # The demo expires after 14 s: the sweep removes its folder.
    deadline = time.time() + 60
    while time.time() < deadline and os.path.exists(os.path.join(d.storage, "ar-storage", ar)):
        time.sleep(0.3)
    check(not os.path.exists(os.path.join(d.storage, "ar-storage", ar)), "the sweep removed the expired demo")
    time.sleep(0.5)
    st.send_signal(signal.SIGINT)
    st.wait(timeout=30)

    with open(trace, errors="replace") as f:
        lines = f.read().splitlines()
    calls = [l for l in lines if re.match(r"^\d+\s+\w+\(", l)]
    check(len(calls) > 20, f"the trace saw the daemon's file calls ({len(calls)} lines)")
    on_loop = [l for l in calls if l.split()[0] == str(pid)]
    # What the loop may do: nothing under the storage folder or the vendor
    # folder, no fsync, no folder or link changes.
    bad = [l for l in on_loop
           if d.storage in l or "/vendor" in l or re.match(r"^\d+\s+(fsync|fdatasync|mkdir|rename|unlink|rmdir|"
                                                            r"link|symlink|fchown|chown|truncate|ftruncate)", l)]
    check(bad == [], f"the loop's thread made no file-system call ({len(bad)} made: {bad[:5]})")
    threads = {l.split()[0] for l in calls if d.storage in l}
    check(len(threads - {str(pid)}) >= 1, f"the file work ran on other threads ({sorted(threads)[:6]})")
finally:
    d.cleanup()
    os.unlink(trace)
finish()
