#!/usr/bin/env python3
"""The media pipeline end to end on files made here (workers/stage_*.c), through
`arcd process`: phone-style rotated H.264, VP9 WebM, an audio-only file, a clip
that is stream-copied, the fit modes, the limits; the outputs checked with
ffprobe (H.264 Main <= 4.0, yuv420p, keyframes every second, moov before mdat),
zbarimg (the QR code) and arcd itself (the marker is the print's).

usage: test_media.py ARCD ROOT"""
import json
import os
import struct
import subprocess
import tempfile

import helpers
from helpers import ARCD, PHOTO, ROOT, check, ffmpeg, probe, psnr, slices_md5


def keyframe_times(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-skip_frame", "nokey",
                          "-show_entries", "frame=pts_time", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True).stdout
    return [float(x.split(",")[0]) for x in out.split() if x.strip(",\n ")]


def top_boxes(path):
    """The MP4's top-level box types, in file order."""
    boxes = []
    with open(path, "rb") as f:
        while True:
            head = f.read(8)
            if len(head) < 8:
                return boxes
            size, kind = struct.unpack(">I4s", head)
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0]
                f.seek(size - 16, 1)
            else:
                f.seek(size - 8, 1)
            boxes.append(kind.decode("latin-1"))
            if size == 0:
                return boxes


def process(out, video, *opts, config=None):
    rc, js, _ = helpers.process(out, [PHOTO], [video] if video else [], *opts, config=config)
    return rc, js


def web_video_ok(path, what, want_audio=True):
    info = probe(path)
    v = [s for s in info["streams"] if s["codec_type"] == "video"]
    a = [s for s in info["streams"] if s["codec_type"] == "audio"]
    check(len(v) == 1 and v[0]["codec_name"] == "h264" and v[0]["profile"] in ("Main", "Constrained Baseline", "Baseline")
          and v[0]["level"] <= 40 and v[0]["pix_fmt"] == "yuv420p",
          f"{what}: H.264 {v[0].get('profile')} level {v[0].get('level')} {v[0].get('pix_fmt')}")
    check(max(v[0]["width"], v[0]["height"]) <= 1280 and v[0]["width"] % 2 == 0 and v[0]["height"] % 2 == 0,
          f"{what}: {v[0]['width']}x{v[0]['height']}, long side <= 1280, even")
    if want_audio:
        check(len(a) == 1 and a[0]["codec_name"] == "aac", f"{what}: AAC audio")
    boxes = top_boxes(path)
    check("moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat"),
          f"{what}: moov before mdat ({' '.join(boxes)})")
    return v[0]


work = tempfile.mkdtemp(prefix="arcd-media-")
clip = lambda name: os.path.join(work, name)

# ---- the inputs ----
# A phone video: portrait recorded as landscape pixels plus a display matrix.
ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
       "-t", "3", "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p", "-c:a", "aac", clip("landscape.mp4"))
ffmpeg("-i", clip("landscape.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90", clip("phone.mp4"))
ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000",
       "-t", "2", "-c:v", "libvpx-vp9", "-b:v", "300k", "-c:a", "libopus", clip("clip.webm"))
ffmpeg("-f", "lavfi", "-i", "sine=frequency=300", "-t", "2", "-c:a", "aac", clip("audio.m4a"))
# Already fit for the web: H.264 Main 4:2:0 in BT.709 (an untagged SD clip
# is taken for BT.601 and converted: test_media_colour.py), AAC, one
# keyframe, 1 s.
ffmpeg("-f", "lavfi", "-i", "testsrc2=size=480x320:rate=30", "-f", "lavfi", "-i", "sine=frequency=500:sample_rate=48000",
       "-t", "1", "-c:v", "libx264", "-profile:v", "main", "-level", "3.1", "-pix_fmt", "yuv420p", "-g", "30",
       "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
       "-c:a", "aac", clip("ready.mp4"))
ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=60", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast",
       "-g", "600", "-pix_fmt", "yuv420p", clip("hd60.mp4"))

# ---- a phone video, rotated: upright, re-encoded for the web ----
rc, js = process(clip("out-phone"), clip("phone.mp4"))
check(rc == 0 and js.get("ok"), f"the phone video's job succeeds ({js.get('error')})")
out = clip("out-phone")
v = web_video_ok(os.path.join(out, "ar-video.mp4"), "phone video")
check(v["width"] < v["height"] and (v["width"], v["height"]) == (360, 640),
      f"turned upright: {v['width']}x{v['height']} (recorded 640x360, rotate 90)")
check(not any(sd.get("side_data_type") == "Display Matrix" for sd in v.get("side_data_list", [])),
      "no rotation left in the output")
vi = js["video"]
check(vi["input"]["rotation"] in (90, 270) and vi["output"]["copied"] is False,
      f"the status reports the rotation and the re-encode ({vi['input']['rotation']}, {vi['output'].get('reencodedBecause')})")
keys = keyframe_times(os.path.join(out, "ar-video.mp4"))
gaps = [b - a for a, b in zip(keys, keys[1:])]
check(len(keys) >= 3 and max(gaps) <= 1.05, f"a keyframe every second ({keys})")
poster = os.path.join(out, "poster.jpg")
pinfo = probe(poster)["streams"][0] if os.path.exists(poster) else {}
check(pinfo.get("codec_name") == "mjpeg" and (pinfo.get("width"), pinfo.get("height")) == (360, 640),
      f"poster.jpg is the first frame as shown ({pinfo.get('width')}x{pinfo.get('height')})")
# The print, the marker, the features, the viewer and the QR code.
pr = probe(os.path.join(out, "enhanced-photo.jpg"))["streams"][0]
check((pr["width"], pr["height"]) == (992, 992) == (js["photo"]["width"], js["photo"]["height"]),
      "enhanced-photo.jpg: the 800 px photo with a 96 px (12%) border")
subprocess.run([ARCD, "compile", os.path.join(out, "enhanced-photo.jpg"), "-o", clip("print.mind"), "--quiet"],
               check=True)
with open(clip("print.mind"), "rb") as a, open(os.path.join(out, "marker.mind"), "rb") as b:
    check(a.read() == b.read(), "marker.mind is compiled from exactly the printed image")
fe = probe(os.path.join(out, "features.png"))["streams"][0]
check(fe["codec_name"] == "png" and max(fe["width"], fe["height"]) <= 1024, "features.png is drawn")
th = probe(os.path.join(out, "thumbnail.jpg"))["streams"][0]
check(th["codec_name"] == "mjpeg" and (th["width"], th["height"]) == (320, 320) and "thumbnail.jpg" in js["files"],
      f"thumbnail.jpg: the 992 px print at 320 px ({th['width']}x{th['height']})")
r = js["rating"]
check(r["stars"] >= 4 and r["keypoints"] > 1000 and r["coverage"] > 0.9, f"the rating is in the result ({r})")
qr = subprocess.run(["zbarimg", "--raw", "-q", os.path.join(out, "qr-code.png")], capture_output=True, text=True).stdout.strip()
check(qr.endswith("/ar/view/00000000-0000-4000-8000-000000000000"), f"qr-code.png decodes to the view URL ({qr})")
with open(os.path.join(out, "index.html")) as f:
    page = f.read()
check('src="ar-video.mp4"' in page and 'poster="poster.jpg"' in page and "playsinline" in page
      and "muted" in page and 'crossorigin="anonymous"' in page and "{{" not in page,
      "index.html plays ar-video.mp4 muted, inline, with its poster")
check(set(js["timings"]) == {"photo", "border", "marker", "features", "video", "viewer", "qr", "sheet"},
      "every stage's time is reported")

# ---- two projects get two different borders ----
rc, js2 = process(clip("out-other"), None, "--id", "11111111-2222-4333-8444-555555555555")
with open(os.path.join(out, "enhanced-photo.jpg"), "rb") as a, open(clip("out-other/enhanced-photo.jpg"), "rb") as b:
    check(rc == 0 and a.read() != b.read(), "another project's print has another border")
rc, js3 = process(clip("out-plain"), None, "--border", "off")
check(rc == 0 and js3["photo"] == {"width": 800, "height": 800}, "border off: the print is the photo")

# ---- print.jpg: the print at the photo's own resolution ----
def dims(path):
    s = probe(path)["streams"][0]
    return s["width"], s["height"]


ffmpeg("-i", PHOTO, "-vf", "scale=4000:3000:flags=lanczos", "-q:v", "2", clip("big.jpg"))
r = subprocess.run([ARCD, "process", "--photo", clip("big.jpg"), "-o", clip("out-big")], capture_output=True,
                   text=True, cwd=ROOT)
check(r.returncode == 0, f"a 4000x3000 photo's job succeeds ({r.stderr[-300:]})")
if r.returncode == 0:
    jb = json.loads(r.stdout)
    pw, ph = dims(clip("out-big/print.jpg"))
    ew, eh = dims(clip("out-big/enhanced-photo.jpg"))
    check("print.jpg" in jb["files"] and pw > 4000 and pw <= 8000 and abs(pw / ph - ew / eh) < 0.002 * ew / eh,
          f"print.jpg is {pw}x{ph}: the photo's 4000 px and its border, the shape of enhanced-photo.jpg's {ew}x{eh}")
    db = psnr(clip("out-big/print.jpg"), clip("out-big/enhanced-photo.jpg"), scale="area")
    check(db >= 35, f"scaled down, print.jpg is enhanced-photo.jpg: {db:.1f} dB (the border in the same proportions)")
rc, js = process(clip("out-small"), None)
with open(clip("out-small/print.jpg"), "rb") as a, open(clip("out-small/enhanced-photo.jpg"), "rb") as b:
    check(rc == 0 and a.read() == b.read(), "a photo no larger than the print: print.jpg is enhanced-photo.jpg")
r = subprocess.run([ARCD, "process", "--photo", clip("big.jpg"), "-o", clip("out-big-plain"), "--border", "off"],
                   capture_output=True, text=True, cwd=ROOT)
check(r.returncode == 0 and dims(clip("out-big-plain/print.jpg")) == (4000, 3000),
      "border off: print.jpg is the photo at its 4000x3000")

# ---- VP9 WebM with Opus: H.264 and AAC ----
rc, js = process(clip("out-webm"), clip("clip.webm"))
check(rc == 0, f"the WebM's job succeeds ({js.get('error')})")
if rc == 0:
    web_video_ok(clip("out-webm/ar-video.mp4"), "VP9 WebM")
    check(js["video"]["input"]["videoCodec"] == "vp9" and js["video"]["input"]["audioCodec"] == "opus",
          "the probe names vp9 and opus")

# ---- an H.264 clip already fit for the web: copied, not re-encoded ----
rc, js = process(clip("out-ready"), clip("ready.mp4"))
check(rc == 0 and js["video"]["output"]["copied"] is True, f"a web-ready clip is stream-copied ({js.get('video')})")
# Byte for byte but for the SEI user data (x264's banner here), which the copy drops
# (test_media_privacy.py): compared without SEI NAL units on both sides.
check(slices_md5(clip("ready.mp4")) == slices_md5(clip("out-ready/ar-video.mp4")),
      "its slices and parameter sets are the upload's, byte for byte")
web_video_ok(clip("out-ready/ar-video.mp4"), "copied clip")

# ---- 60 fps 1080p: scaled to 1280 and 30 fps ----
rc, js = process(clip("out-hd"), clip("hd60.mp4"))
v = web_video_ok(clip("out-hd/ar-video.mp4"), "1080p60", want_audio=False) if rc == 0 else {}
check(rc == 0 and (v.get("width"), v.get("height")) == (1280, 720) and v.get("r_frame_rate") == "30/1",
      f"1080p60 becomes 1280x720 at 30 fps ({v.get('width')}x{v.get('height')} {v.get('r_frame_rate')})")

# ---- fit modes against the square photo ----
for mode, opts, want in (("contain", [], (480, 320)), ("cover", [], (320, 320)), ("fill", [], (480, 480)),
                         ("exact", ["--scale", "400x300"], (400, 300))):
    rc, js = process(clip("out-" + mode), clip("ready.mp4"), "--fit", mode, *opts)
    got = (js["video"]["output"]["width"], js["video"]["output"]["height"]) if rc == 0 else None
    check(got == want, f"fit {mode}: {got} (want {want})")

# ---- refused with a readable reason ----
rc, js = process(clip("out-audio"), clip("audio.m4a"))
check(rc != 0 and "no video stream" in js.get("error", "") and "audio" in js.get("error", ""),
      f"an audio-only file is refused: {js.get('error')}")
with open(os.path.join(ROOT, "config", "arcd.json")) as f:
    # Its // lines are comments (config/README.md).
    cfg = json.loads("".join(line for line in f if not line.lstrip().startswith("//")))
cfg["video"] = dict(cfg.get("video", {}), maxSeconds=2)
with open(clip("short.json"), "w") as f:
    json.dump(cfg, f)
rc, js = process(clip("out-long"), clip("phone.mp4"), config=clip("short.json"))
check(rc != 0 and "over the limit of 2 s" in js.get("error", ""), f"over the duration limit: {js.get('error')}")
with open(clip("junk.mp4"), "wb") as f:
    f.write(b"\x00\x00\x00\x18ftypisom" + os.urandom(5000))
rc, js = process(clip("out-junk"), clip("junk.mp4"))
check(rc != 0 and js.get("error", "").startswith("video: "), f"a damaged video is refused: {js.get('error')}")
check(not [n for n in os.listdir(clip("out-junk")) if n.endswith(".tmp")], "no temporary file is left behind")

subprocess.run(["rm", "-rf", work])
helpers.finish()
