"""Helpers for the media scripts in tests/workers/ (test_media.py,
test_media_colour.py, test_print_sheet.py, test_media_privacy.py): the
checks they count, ffmpeg and ffprobe, PSNR, and `arcd process`. Python's
standard library only.

Every script is run as NAME.py ARCD [...] ROOT (tests/CMakeLists.txt): the
arcd binary first, the source tree last."""
import json
import os
import re
import subprocess
import sys

if len(sys.argv) < 3:
    sys.exit(f"usage: {os.path.basename(sys.argv[0])} ARCD [...] ROOT")
ARCD, ROOT = sys.argv[1], sys.argv[-1]
PHOTO = os.path.join(ROOT, "tests", "data", "pictarize.jpg")

failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1


def finish(summary=None):
    """Prints the summary ("all passed" or "N failed"; or summary.format(N))
    and exits 1 if any check failed."""
    if summary is not None:
        print(summary.format(failures))
    else:
        print("all passed" if failures == 0 else f"{failures} failed")
    sys.exit(1 if failures else 0)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def probe(path, *extra):
    """ffprobe's streams and format (and what `extra` asks for) as JSON."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", *extra, "-of", "json", path],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def stream(path):
    """ffprobe's first video stream."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", path],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["streams"][0]


def psnr(a, b, scale="bicubic"):
    """Average PSNR of a against b (a scaled to b's size, with the scaler's
    `scale` flags, if it differs); 0 when ffmpeg reports none."""
    r = subprocess.run(["ffmpeg", "-i", a, "-i", b, "-lavfi", f"[0][1]scale2ref=flags={scale}[x][y];[x][y]psnr",
                        "-f", "null", "-"], capture_output=True, text=True)
    m = re.findall(r"PSNR .*average:([0-9.]+|inf)", r.stderr)
    return float(m[-1]) if m else 0.0


def slices_md5(path):
    """MD5 of the H.264 stream without its SEI NAL units."""
    return subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v", "-c", "copy", "-bsf:v",
                           "filter_units=remove_types=6", "-f", "md5", "-"],
                          capture_output=True, text=True, check=True).stdout


def process(out, photos, videos, *opts, config=None):
    """`arcd process -o out` run in the source tree: a --photo per photo, a
    --video per video, then opts (and --config). Returns (exit code, the
    result it printed, or {"ok": False, "error": its stderr} when stdout is
    not JSON, its stderr)."""
    cmd = [ARCD, "process", "-o", out, *opts]
    for p in photos:
        cmd += ["--photo", p]
    for v in videos:
        cmd += ["--video", v]
    if config:
        cmd += ["--config", config]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    try:
        js = json.loads(r.stdout)
    except ValueError:
        js = {"ok": False, "error": r.stderr}
    return r.returncode, js, r.stderr
