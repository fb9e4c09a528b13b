"""The phone, in a browser: a demo made through the API, its QR code decoded
with zbarimg, that URL opened (through the /ar/view/:id redirect) in headless
Debian Chromium whose camera is a clip made here from the project's own
printed image (enhanced-photo.jpg) on a neutral background, turned and in
perspective. Passes when MindAR's targetFound fires and the overlay video
plays (its currentTime advances); a second run whose camera shows another
photo must not fire targetFound within the same wait; a third, of a project
made from a 4000x3000 photo, whose camera shows its full-resolution
print.jpg (not the enhanced-photo.jpg the marker is compiled from), must.
A screenshot with the overlay is saved for the log.
usage (inside pg_virtualenv): 40_phone.py ARCD MKIMAGE"""
import json
import os
import shutil
import subprocess
import tempfile

from harness import DATA, ROOT, Daemon, camera_clip, check, finish, photo_bytes, sample_mp4

WAIT = 40  # seconds for MindAR to start and find the target
work = tempfile.mkdtemp(prefix="arcd-phone-")
shots = os.path.join(ROOT, "build", "phone-test")
os.makedirs(shots, exist_ok=True)


def phone(url, cam, shot):
    env = dict(os.environ, ARCD_NODE=os.path.join(ROOT, "var", "node"))
    out = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "phone_check.mjs"), url, cam, str(WAIT), shot],
                         capture_output=True, text=True, env=env, timeout=WAIT + 90,
                         cwd=os.path.join(ROOT, "var", "node"))
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    print("browser:", line[:800], out.stderr[-400:], flush=True)
    return json.loads(line)


d = Daemon()
try:
    st, _, js = d.upload(photo_bytes("pictarize.jpg"), sample_mp4())
    final = d.wait_status(js["arId"], timeout=120)
    check(final["status"] == "ready", f"the demo is ready ({final.get('errorMessage')})")
    ar = js["arId"]
    st, _, png = d.request("GET", f"/objects/ar-storage/{ar}/qr-code.png")
    with open(os.path.join(work, "qr.png"), "wb") as f:
        f.write(png)
    url = subprocess.run(["zbarimg", "--raw", "-q", os.path.join(work, "qr.png")], capture_output=True,
                         text=True).stdout.strip()
    check(url == final["viewUrl"], f"the QR code holds the view URL ({url})")
    st, _, printed = d.request("GET", f"/objects/ar-storage/{ar}/enhanced-photo.jpg")
    with open(os.path.join(work, "print.jpg"), "wb") as f:
        f.write(printed)
    camera_clip(os.path.join(work, "print.jpg"), os.path.join(work, "cam.y4m"))

    r = phone(url, os.path.join(work, "cam.y4m"), os.path.join(shots, "found.png"))
    check(r.get("finalUrl", "").endswith(f"/objects/ar-storage/{ar}/index.html"), "the view URL leads to the viewer")
    check(r.get("arReady") is not None and r.get("arError") is None,
          f"MindAR starts with the fake camera (arReady at {r.get('arReady')} s, error {r.get('arError')})")
    found = r.get("targetFound")
    check(found is not None,
          f"targetFound fires for the printed image ({found} s, {None if found is None or r.get('arReady') is None else round(found - r['arReady'], 2)} s after arReady)")
    req, ready = r.get("videoRequestedAt"), r.get("arReady")
    check(req is not None and ready is not None and req >= ready - 0.05,
          f"the overlay video is fetched only once the AR engine is ready (requested at {req} s, arReady {ready} s)")
    times = [t for t in r.get("currentTimes", []) if t is not None]
    # The clip loops (3 s): its clock advances between samples, or wraps.
    check(len(times) >= 2 and any(b > a for a, b in zip(times, times[1:])) and r.get("paused") is False,
          f"the overlay video plays: currentTime {times}")
    check(r.get("pageErrors") == [] and r.get("consoleErrors") == [],
          f"no page or console errors ({r.get('pageErrors')} {r.get('consoleErrors')})")
    check(os.path.getsize(os.path.join(shots, "found.png")) > 10000,
          f"screenshot saved: {os.path.join(shots, 'found.png')}")

    # Another photo in front of the camera: the marker must not match it.
    other = os.path.join(work, "other.jpg")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", os.path.join(DATA, "bear.png"), "-vf", "scale=992:992",
                    other], check=True)
    camera_clip(other, os.path.join(work, "other.y4m"))
    r2 = phone(url, os.path.join(work, "other.y4m"), os.path.join(shots, "other.png"))
    check(r2.get("arReady") is not None and r2.get("targetFound") is None,
          f"another photo: no targetFound within {WAIT} s (arReady at {r2.get('arReady')} s)")

    # The full-resolution print of a large photo is the same picture to the marker.
    big = os.path.join(work, "big.jpg")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", os.path.join(DATA, "pictarize.jpg"), "-vf",
                    "scale=4000:3000:flags=lanczos", "-q:v", "3", big], check=True)
    with open(big, "rb") as f:
        st, _, js = d.upload(f.read(), sample_mp4())
    final = d.wait_status(js["arId"], timeout=120)
    check(final["status"] == "ready" and (final.get("printUrl") or "").endswith("/print.jpg"),
          f"a 4000x3000 photo's demo is ready, with printUrl ({final.get('printUrl')})")
    st, _, full = d.request("GET", f"/objects/ar-storage/{js['arId']}/print.jpg")
    with open(os.path.join(work, "full.jpg"), "wb") as f:
        f.write(full)
    dims = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0",
                           os.path.join(work, "full.jpg")], capture_output=True, text=True).stdout.strip()
    check(st == 200 and dims.startswith("4962,"), f"print.jpg is served at full resolution ({dims})")
    camera_clip(os.path.join(work, "full.jpg"), os.path.join(work, "full.y4m"))
    r3 = phone(final["viewUrl"], os.path.join(work, "full.y4m"), os.path.join(shots, "print-full.png"))
    check(r3.get("targetFound") is not None,
          f"a camera on print.jpg: targetFound ({r3.get('targetFound')} s, arReady {r3.get('arReady')} s)")
finally:
    d.cleanup()
    shutil.rmtree(work, ignore_errors=True)
finish()
