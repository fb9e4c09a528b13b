#!/usr/bin/env python3
"""The body of viewer_load.sh, run inside pg_virtualenv: ROOT BASELINE_TREE REV.
One daemon at a time (the baseline's, then this build's) on the same
database, each with its own storage and its own viewer template."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

root, base, rev = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, os.path.join(root, "tests", "integration"))
import harness  # noqa: E402

work = tempfile.mkdtemp(prefix="arcd-load-")
node_dir = os.path.join(root, "var", "node")
profiles = [("none", "unthrottled"), ("fast4g", "Fast 4G"), ("slow4g", "Slow 4G")]
if os.environ.get("ARCD_LOAD_PROFILES"):  # e.g. "none" (a quicker look)
    profiles = [p for p in profiles if p[0] in os.environ["ARCD_LOAD_PROFILES"].split(",")]
RUNS = int(os.environ.get("ARCD_LOAD_RUNS", "3"))  # each profile's runs; the median is printed


def sh(*args):
    subprocess.run(args, check=True)


# A phone-like 10 s 720p clip (about 2 MB once arcd has made it web-ready).
video = os.path.join(work, "clip.mp4")
sh("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi", "-i",
   "sine=frequency=440:sample_rate=48000", "-vf", "noise=alls=12:allf=t", "-t", "10", "-c:v", "libx264",
   "-b:v", "1500k", "-pix_fmt", "yuv420p", "-c:a", "aac", video)


def measure(label, exe, tree, **config):
    harness.ARCD = exe
    d = harness.Daemon(viewer={"template": os.path.join(tree, "config", "viewer.html"),
                               "vendorDir": os.path.join(root, "var", "vendor")}, **config)
    rows = {}
    try:
        with open(video, "rb") as f:
            st, _, js = d.upload(harness.photo_bytes("pictarize.jpg"), f.read())
        final = d.wait_status(js["arId"], timeout=180)
        assert final["status"] == "ready", final
        st, _, printed = d.request("GET", f"/objects/ar-storage/{js['arId']}/enhanced-photo.jpg")
        img, cam = os.path.join(work, "print.jpg"), os.path.join(work, "cam.y4m")
        with open(img, "wb") as f:
            f.write(printed)
        harness.camera_clip(img, cam)
        url = f"http://127.0.0.1:{d.port}/ar/view/{js['arId']}"
        for prof, _ in profiles:
            runs = []
            for _ in range(RUNS):
                out = subprocess.run(["node", os.path.join(root, "tests", "bench", "viewer_load.mjs"), url, cam, prof,
                                      "120"], capture_output=True, text=True, cwd=node_dir, timeout=300,
                                     env=dict(os.environ, ARCD_NODE=node_dir))
                line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
                runs.append(json.loads(line))
                print(f"  {label:>22} {prof:>8}: {line}", flush=True)
            # The run with the median targetFound (a failed run counts as the slowest).
            runs.sort(key=lambda r: r.get("targetFound") or 1e9)
            rows[prof] = runs[len(runs) // 2]
    finally:
        d.cleanup()
    return rows


print(f"the customer's page: {rev} (today's page) against this build; the median of {RUNS} runs each",
      flush=True)
# The baseline predates the web app (app.dir): its config has no such key.
old = measure(f"{rev}", os.path.join(base, "build", "arcd"), base, app=None)
new = measure("this build", os.path.join(root, "build", "arcd"), root)


def fmt_s(v):
    return f"{v:6.2f} s" if isinstance(v, (int, float)) else "   none"


def fmt_b(v):
    return f"{v / 1e6:5.2f} MB" if isinstance(v, (int, float)) else "   none"


print()
print(f"{'network':<12} {'':<10} {'arReady':>9} {'bytes':>9} {'targetFound':>12} {'bytes':>9} {'video starts':>13}")
for prof, name in profiles:
    for label, rows in ((rev, old), ("this build", new)):
        r = rows.get(prof, {})
        print(f"{name:<12} {label:<10} {fmt_s(r.get('arReady')):>9} {fmt_b(r.get('bytesToReady')):>9} "
              f"{fmt_s(r.get('targetFound')):>12} {fmt_b(r.get('bytesToFound')):>9} "
              f"{fmt_s(r.get('videoStartedAt')):>13}")
    a, b = old.get(prof, {}).get("targetFound"), new.get(prof, {}).get("targetFound")
    if a and b:
        print(f"{'':<12} targetFound {a / b:.2f}x sooner")
shutil.rmtree(work, ignore_errors=True)
