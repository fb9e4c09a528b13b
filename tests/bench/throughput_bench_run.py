"""The body of throughput_bench.sh, inside pg_virtualenv: ARCD MKIMAGE JOBS."""
import concurrent.futures
import os
import statistics
import subprocess
import sys
import tempfile
import time

from harness import DATA, Daemon

JOBS = int(sys.argv[3])
CORES = os.cpu_count()
TICK = os.sysconf("SC_CLK_TCK")
work = tempfile.mkdtemp(prefix="arcd-throughput-")


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


# The inputs of job_bench.sh: MindAR's bear photo at 1920x1920 (each job's
# a little different in hue, though the project's own border already makes
# every print, and so every marker, a new one), a 10 s 1280x720 30 fps clip
# with sound as a phone records it, and the same fit for the web.
photos = []
for i in range(JOBS):
    p = os.path.join(work, f"photo{i}.jpg")
    ffmpeg("-i", os.path.join(DATA, "bear.png"), "-vf", f"scale=1920:1920:flags=lanczos,hue=h={i * 7}", "-q:v", "2", p)
    with open(p, "rb") as f:
        photos.append(f.read())
phone, web = os.path.join(work, "phone.mp4"), os.path.join(work, "web.mp4")
ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i",
       "sine=frequency=440:sample_rate=48000", "-t", "10", "-c:v", "libx264", "-profile:v", "high", "-preset",
       "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", phone)
ffmpeg("-i", phone, "-c:v", "libx264", "-profile:v", "main", "-level", "4.0", "-preset", "veryfast", "-g", "30",
       "-pix_fmt", "yuv420p", "-c:a", "copy", web)
videos = {}
for name, path in (("re-encoded", phone), ("stream-copied", web)):
    with open(path, "rb") as f:
        videos[name] = f.read()


def run(video_kind, workers, pin):
    d = Daemon(limits={"uploadsPerMinute": 0}, workers={"count": workers})
    try:
        if pin:
            for pid in [d.proc.pid] + d.worker_pids():
                subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)], check=True, capture_output=True)
        procs = [d.proc.pid] + d.worker_pids()
        before = {pid: cpu_seconds(pid) for pid in procs}
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
            answers = list(pool.map(lambda p: d.upload(p, videos[video_kind]), photos))
        ids = [js["arId"] for st, _, js in answers if st == 202]
        final = [d.wait_status(i, timeout=1800) for i in ids]
        wall = time.time() - t0
        ready = [f for f in final if f and f["status"] == "ready"]
        used = {pid: cpu_seconds(pid) - before[pid] for pid in procs}
        if len(d.worker_pids()) != workers or sorted(d.worker_pids()) != sorted(procs[1:]):
            print("  (a worker was replaced during the run: its CPU time is missing)")
        worker_cpu = sum(v for pid, v in used.items() if pid != d.proc.pid)
        whole = statistics.median(sum(f["timings"].values()) for f in ready) if ready else float("nan")
        where = "1 core (taskset -c 0), 1 worker" if pin else f"{CORES} cores, {workers} workers"
        print(f"{video_kind:13s} {where:32s} {len(ready)}/{JOBS} ready in {wall:6.1f} s: "
              f"{len(ready) * 3600 / wall:6.0f} jobs/hour; per job: workers {worker_cpu / max(len(ready), 1):5.2f} "
              f"CPU s, daemon {used[d.proc.pid] / max(len(ready), 1):5.3f} CPU s, whole job (median) {whole:6.0f} ms",
              flush=True)
    finally:
        d.cleanup()


try:
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    print(f"machine: {CORES} cores, {model}")
    print(f"{JOBS} jobs per run, uploaded at once; photo 1920x1920 JPEG, video 10 s 1280x720 30 fps H.264 + AAC")
    for kind in videos:
        run(kind, 1, True)
        run(kind, CORES, False)
finally:
    subprocess.run(["rm", "-rf", work])
