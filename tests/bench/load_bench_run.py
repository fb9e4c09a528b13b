"""The body of load_bench.sh, inside pg_virtualenv: ARCD MKIMAGE SECONDS."""
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

from harness import ADMIN_TOKEN, Daemon, photo_bytes, psql, sample_mp4

ARCD, MKIMAGE, SECS = sys.argv[1], sys.argv[2], int(sys.argv[3])
work = tempfile.mkdtemp(prefix="arcd-load-")
peak = {"conns": 0, "daemon_kb": 0, "worker_kb": 0}
stop = threading.Event()


def hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
    except (OSError, AttributeError):
        return 0


def sampler(d):
    while not stop.is_set():
        try:
            peak["conns"] = max(peak["conns"], int(psql(
                "select count(*) from pg_stat_activity where application_name = 'arcd'")))
        except subprocess.CalledProcessError:
            pass
        peak["daemon_kb"] = max(peak["daemon_kb"], hwm(d.proc.pid))
        for pid in d.worker_pids():
            peak["worker_kb"] = max(peak["worker_kb"], hwm(pid))
        time.sleep(0.1)


def queued():
    return psql("select count(*) from ar_projects where status in ('pending', 'processing')")


def wrk(url):
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{SECS}s", "--latency", "-H", f"Authorization: Bearer {ADMIN_TOKEN}",
                          url], capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"\s50%\s+(\S+)", out)
    p99 = re.search(r"\s99%\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return (f"{float(rps.group(1)):,.0f} requests/s, p50 {p50.group(1)}, p99 {p99.group(1)}, "
            f"non-2xx {non2xx.group(1) if non2xx else 0}" + (f", socket errors: {errors.group(1)}" if errors else "")
            + f" (jobs still queued or running after it: {queued()})")


# Inputs: a 10 s 720p clip that must be re-encoded, distinct textured photos.
slow = os.path.join(work, "slow.mp4")
subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi",
                "-i", "sine=frequency=440", "-t", "10", "-c:v", "libx264", "-profile:v", "high", "-preset", "ultrafast",
                "-g", "300", "-pix_fmt", "yuv420p", "-c:a", "aac", slow], check=True)
with open(slow, "rb") as f:
    slow_video = f.read()
photos = []
for i in range(24):
    p = os.path.join(work, f"t{i}.jpg")
    subprocess.run([MKIMAGE, "texture", "3000", "3000", str(100 + i), p], check=True)
    with open(p, "rb") as f:
        photos.append(f.read())

d = Daemon(limits={"uploadsPerMinute": 0}, workers={"count": 2})
threading.Thread(target=sampler, args=(d,), daemon=True).start()
try:
    st, _, js = d.upload(photo_bytes("pictarize.jpg"), sample_mp4())
    hot = js["arId"]
    d.wait_status(hot, timeout=120)
    # Keep both workers busy for the wrk runs: queue the jobs at once (each
    # upload waits for its fsync, so one after the other would be slow).
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        accepted = [a[2]["arId"] for a in pool.map(lambda p: d.upload(p, slow_video), photos)]
    time.sleep(2)
    busy = d.metric('arcd_workers{state="busy"}')
    print(f"machine: {os.cpu_count()} cores; daemon with 2 workers, pool of 4; 24 jobs queued"
          f" (3000x3000 photo, 10 s 720p video to re-encode), workers busy: {busy:.0f}")
    print(f"GET /api/ar/status/:id, {SECS} s, 64 connections:    "
          + wrk(f"http://127.0.0.1:{d.port}/api/ar/status/{hot}"))
    print(f"GET /objects/ar-storage/.../marker.mind (0.7 MB):     "
          + wrk(f"http://127.0.0.1:{d.port}/objects/ar-storage/{hot}/marker.mind"))
    print(f"GET /objects/ar-storage/.../qr-code.png:              "
          + wrk(f"http://127.0.0.1:{d.port}/objects/ar-storage/{hot}/qr-code.png"))
    busy_end = d.metric('arcd_workers{state="busy"}')
    print(f"  (workers busy at the end of the wrk runs: {busy_end:.0f})")

    photo, video = photo_bytes("pictarize.jpg"), sample_mp4()
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _: d.upload(photo, video), range(50)))
    codes = [a[0] for a in answers]
    print(f"50 concurrent create-demo uploads: {codes.count(202)} accepted (202), "
          f"{len(codes) - codes.count(202)} refused ({sorted(set(codes))}) in {time.time() - t0:.1f} s")
    accepted += [a[2]["arId"] for a in answers if a[0] == 202]
    final = [d.wait_status(a, timeout=900) for a in accepted]
    states = [f["status"] if f else "?" for f in final]
    print(f"every accepted project ({len(accepted)}) ended: "
          + ", ".join(f"{s} {states.count(s)}" for s in sorted(set(states)))
          + f", all ready in {time.time() - t0:.0f} s after the burst")
    stop.set()
    time.sleep(0.2)
    print(f"highest arcd connections in pg_stat_activity: {peak['conns']} (pool size 4)")
    print(f"peak memory (VmHWM): daemon {peak['daemon_kb'] / 1024:.1f} MB, a worker {peak['worker_kb'] / 1024:.1f} MB")
finally:
    stop.set()
    d.cleanup()
    subprocess.run(["rm", "-rf", work])
