"""The viewer page in a real browser: a demo made by the daemon, opened
through /ar/view/:id in headless Debian Chromium (playwright-core, software
WebGL, a fake camera). Passes when MindAR reports arReady and the page logs
no console or page error. Finding the target with a camera clip is issue 5's.
usage (inside pg_virtualenv): 30_viewer.py ARCD MKIMAGE"""
import json
import os
import subprocess

from harness import ROOT, Daemon, check, finish, photo_bytes

d = Daemon()
try:
    with open(os.path.join(ROOT, "tests", "data", "sample.mp4"), "rb") as f:
        video = f.read()
    st, _, js = d.upload(photo_bytes("pictarize.jpg"), video)
    final = d.wait_status(js["arId"])
    check(final["status"] == "ready", "the demo is ready")
    env = dict(os.environ, ARCD_NODE=os.path.join(ROOT, "var", "node"))
    out = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "viewer_check.mjs"),
                          f"http://127.0.0.1:{d.port}/ar/view/{js['arId']}", "45"],
                         capture_output=True, text=True, env=env, timeout=120,
                         cwd=os.path.join(ROOT, "var", "node"))
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    r = json.loads(line)
    print("browser:", line[:600], out.stderr[-600:], flush=True)
    check(r.get("finalUrl", "").endswith(f"/objects/ar-storage/{js['arId']}/index.html"),
          "the view URL redirects to the viewer page")
    check(r.get("arReady") is True, f"MindAR is ready in Chromium ({r.get('arError')})")
    vids = r.get("videos") or []
    v = vids[0] if vids else {}
    check(len(vids) == 1 and v["src"] == "ar-video.mp4" and v["readyState"] >= 1 and v["videoWidth"] == 360
          and v["muted"] and v["playsInline"], f"the overlay video loads in the page, muted and inline ({v})")
    bw, bh = (float(x) for x in (v.get("box") or "0 0").split())
    # contain: the 3:2 clip inside the square photo's box, full width.
    check(abs(v.get("width", 0) - bw) < 1e-3 and abs(v.get("height", 0) - bw * 240 / 360) < 1e-3 and bw < 1,
          f"the plane keeps the video's aspect inside the photo's box ({v.get('width')} x {v.get('height')}, box {bw} x {bh})")
    check(r.get("consoleErrors") == [] and r.get("pageErrors") == [],
          f"no console or page errors ({r.get('consoleErrors')} {r.get('pageErrors')})")
finally:
    d.cleanup()
finish()
