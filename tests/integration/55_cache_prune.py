"""The compiled-marker cache is pruned by the sweep: entries unused for
storage.cacheMaxDays go, then the least recently used until the cache is
within storage.cacheMaxMb; a cache hit counts as a use (it refreshes the
entry's mtime); nothing but <64 hex>.mind entries and stale temporary files
of atomic writes is ever removed; /metrics and the log report it; the
pruning runs on libuv's threadpool, not on the loop thread (seen with
strace when it can attach). Here with a sweep every second, cacheMaxDays 1
and cacheMaxMb 1.
usage (inside pg_virtualenv): 55_cache_prune.py ARCD MKIMAGE"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import Daemon, check, finish, photo_bytes, sample_mp4

KB = 1024
MB = 1024 * KB
HOUR = 3600
DAY = 24 * HOUR

# The harness's Daemon takes the storage folder as its own argument, so the
# storage section's other keys are written into its config before a restart.
d = Daemon(demo={"sweepSeconds": 1})
d.stop()
with open(d.config) as f:
    cfg = json.load(f)
cfg["storage"].update({"cacheMaxDays": 1, "cacheMaxMb": 1})
with open(d.config, "w") as f:
    json.dump(cfg, f)
cache = os.path.join(d.storage, "cache")


def hexname(i, ext=".mind"):
    return f"{0xabcdef00 + i:064x}" + ext


def put(name, size, age):
    """A file of size bytes in the cache, last modified age seconds ago."""
    path = os.path.join(cache, name)
    with open(path, "wb") as f:
        f.write(b"\0" * size)
    t = time.time() - age
    os.utime(path, (t, t))
    return path


def wait_for(cond, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


# Unused for longer than cacheMaxDays: removed by age.
aged = [put(hexname(1), 100 * KB, 3 * DAY), put(hexname(2), 200 * KB, 2 * DAY)]
# Recent, 1500 KB in all: over 1 MB, so the least recently used go until
# the rest (700 KB) fits.
lru = [put(hexname(3), 400 * KB, 5 * HOUR), put(hexname(4), 400 * KB, 4 * HOUR)]
kept = [put(hexname(5), 400 * KB, 3 * HOUR), put(hexname(6), 300 * KB, 1 * HOUR)]
# Not cache entries: never touched, however old.
others = [put("README.txt", 10 * KB, 90 * DAY), put("g" * 64 + ".mind", 10 * KB, 90 * DAY),
          put(hexname(7, ".mind.bak"), 10 * KB, 90 * DAY), put(hexname(8, "").upper() + ".mind", 10 * KB, 90 * DAY),
          put(hexname(9, ".mind.tmp.x"), 10 * KB, 90 * DAY)]
os.makedirs(os.path.join(cache, hexname(10)))
others.append(os.path.join(cache, hexname(10)))
# Leftovers of atomic writes: stale after an hour, in progress before.
stale_tmp = put(hexname(11, ".mind.tmp.4242"), 50 * KB, 2 * HOUR)
fresh_tmp = put(hexname(12, ".mind.tmp.4243"), 50 * KB, 60)

try:
    restarted_at = len(d.logs())
    d.start()
    # ---- age, then size, least recently used first ----
    wait_for(lambda: not any(os.path.exists(p) for p in aged + lru + [stale_tmp]))
    check(not any(os.path.exists(p) for p in aged), "entries unused for more than cacheMaxDays are removed")
    check(not any(os.path.exists(p) for p in lru) and all(os.path.exists(p) for p in kept),
          "then the least recently used, until the cache is within cacheMaxMb")
    check(all(os.path.exists(p) for p in others), "files that are not cache entries stay, however old")
    check(not os.path.exists(stale_tmp) and os.path.exists(fresh_tmp),
          "a temporary file older than an hour is removed, a recent one stays")
    wait_for(lambda: d.metric("arcd_marker_cache_entries") == 2)
    check(d.metric("arcd_marker_cache_entries") == 2, "/metrics: arcd_marker_cache_entries 2")
    check(d.metric("arcd_marker_cache_bytes") == 700 * KB, "/metrics: arcd_marker_cache_bytes 700 KB")
    check(d.metric("arcd_marker_cache_pruned_total") == 4, "/metrics: arcd_marker_cache_pruned_total 4")
    check(re.search(r"marker cache: removed 4 entries \(1\.1 MB\), now 0\.7 MB in 2 entries", d.logs()),
          "the daemon logs the prune")

    # ---- not on the loop: the unlink comes from a threadpool thread ----
    pid = d.proc.pid
    trace = tempfile.NamedTemporaryFile(prefix="arcd-strace-", suffix=".txt", delete=False).name
    st = None
    if shutil.which("strace"):
        st = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=unlinkat,unlink,openat", "-o", trace,
                               "-p", str(pid)], stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    probe = put(hexname(13), 10 * KB, 5 * DAY)
    check(wait_for(lambda: not os.path.exists(probe)), "an entry aged in a running daemon is removed")
    time.sleep(0.3)
    if st is not None and st.poll() is None:
        st.terminate()
        st.wait(timeout=10)
        with open(trace, errors="replace") as f:
            lines = [ln for ln in f if os.path.basename(probe) in ln and "unlink" in ln]
        tids = {int(ln.split()[0]) for ln in lines}
        check(tids and pid not in tids,
              f"the prune's unlink ran on a threadpool thread {sorted(tids)}, not the loop's ({pid})")
        with open(trace, errors="replace") as f:
            loop_opens = [ln for ln in f if ln.startswith(f"{pid} ") and "/cache" in ln]
        check(not loop_opens, f"the loop thread opened nothing in the cache {loop_opens[:2]}")
    else:
        print("skip the threadpool check: strace cannot attach", flush=True)
    os.unlink(trace)

    # ---- a hit is a use: it refreshes the entry's mtime ----
    for p in kept:
        if os.path.exists(p):
            os.unlink(p)
    photo, video = photo_bytes("card.png"), sample_mp4()
    plain = json.dumps({"border": False})
    ours = {os.path.basename(p) for p in aged + lru + kept + others + [probe]}

    def compiled():
        """The cache entries the workers wrote."""
        return sorted(n for n in os.listdir(cache) if re.fullmatch(r"[0-9a-f]{64}\.mind", n) and n not in ours)

    st1, _, js = d.upload(photo, video, {"config": plain})
    first = d.wait_status(js["arId"])
    check(st1 == 202 and first["status"] == "ready" and first["markerCache"] == "miss",
          f"the first compile of a photo misses the cache ({first.get('markerCache')})")
    check(len(compiled()) == 1, f"and writes one cache entry {compiled()}")
    entry = os.path.join(cache, compiled()[0]) if compiled() else os.path.join(cache, "none")
    size = os.path.getsize(entry) if os.path.exists(entry) else 0
    t = time.time() - 2 * HOUR
    os.utime(entry, (t, t))
    st2, _, js2 = d.upload(photo, video, {"config": plain})
    again = d.wait_status(js2["arId"])
    check(st2 == 202 and again["status"] == "ready" and again["markerCache"] == "hit",
          f"the same photo again hits the cache ({again.get('markerCache')})")
    check(os.path.exists(entry) and os.stat(entry).st_mtime > time.time() - 120,
          "the hit refreshed the entry's mtime (its last use)")
    # Over the limit with one older entry: that one goes, the one just used stays.
    older = put(hexname(14), MB - size + 10 * KB, 1 * HOUR)
    wait_for(lambda: not os.path.exists(older))
    check(not os.path.exists(older) and os.path.exists(entry),
          "over cacheMaxMb, an entry used an hour ago goes before the one just hit (used two hours before)")
    st, _, mind = d.request("GET", f"/objects/ar-storage/{js2['arId']}/marker.mind")
    check(st == 200 and len(mind) == size, "the project's linked marker is whole")
    check(all(os.path.exists(p) for p in others), "the other files are still there")
    check(d.stop() == 0, "the daemon stops cleanly")
    logs = d.logs()[restarted_at:]
    check("AddressSanitizer" not in logs and "LeakSanitizer" not in logs,
          "no sanitizer report from the daemon that pruned")
finally:
    d.cleanup()
finish()
