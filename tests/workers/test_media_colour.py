#!/usr/bin/env python3
"""The video stage's colours and crop (workers/video_colour.c, video_crop.c),
through `arcd process`, on clips made here from an SDR original:

- HLG and PQ 10-bit HEVC (SDR white at 203 cd/m2, ITU-R BT.2408), a 12-bit
  PQ clip, an iPhone-style Dolby Vision 8.4 file (an HLG stream with a dvvC
  box): tone-mapped back to SDR BT.709, at least 40 dB PSNR against the
  original and within 3 dB of arcd's own SDR re-encode of it;
- a PQ ramp up to 1000 cd/m2: the highlights above white keep their
  gradation (rolled off, not clipped flat);
- BT.601 (tagged, and untagged SD) converted to BT.709; untagged HD assumed
  BT.709 and copied with tags;
- Dolby Vision profile 5 refused with a reason;
- every output tagged bt709 / bt709 / bt709 / tv (ffprobe);
- a variable-frame-rate clip keeps its frames' times;
- the cover crop placed on the person, not the centre, and recorded.

usage: test_media_colour.py ARCD ROOT"""
import json
import os
import struct
import subprocess
import tempfile

import helpers
from helpers import PHOTO, check, ffmpeg, psnr, stream

work = tempfile.mkdtemp(prefix="arcd-colour-")
clip = lambda name: os.path.join(work, name)


def process(name, video, *opts, crf=None):
    out = clip("out-" + name)
    cfg = None
    if crf is not None:
        cfg = clip(f"crf{crf}.json")
        with open(cfg, "w") as f:
            json.dump({"video": {"crf": crf}}, f)
    rc, js, _ = helpers.process(out, [PHOTO], [video], *opts, config=cfg)
    return rc, js, os.path.join(out, "ar-video.mp4")


def tagged_709(path, what):
    s = stream(path)
    got = (s.get("color_primaries"), s.get("color_transfer"), s.get("color_space"), s.get("color_range"))
    check(got == ("bt709", "bt709", "bt709", "tv"), f"{what}: tagged BT.709 limited range (ffprobe: {got})")


def add_dolby_vision(src, dst, profile, compat):
    """Copies an MP4 (moov after mdat) with a Dolby Vision configuration box
    (dvvC for profiles 8-10, dvcC below) added to its HEVC sample entry, as an
    iPhone writes it. Box sizes up the chain grow by 32; chunk offsets do not
    move since the moov comes last."""
    data = bytearray(open(src, "rb").read())
    rec = struct.pack(">BBHI", 1, 0, (profile << 9) | (6 << 3) | 0b101, compat << 28) + bytes(16)
    box = struct.pack(">I4s", 8 + len(rec), b"dvvC" if profile >= 8 else b"dvcC") + rec
    # The chain moov > trak > mdia > minf > stbl > stsd > hvc1.
    path, pos, end = [], 0, len(data)
    containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
    while pos < end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind in containers:
            path.append(pos)
            end, pos = pos + size, pos + 8
            continue
        if kind == b"stsd":
            path.append(pos)
            entry = pos + 16  # full box header + entry count
            esize, ekind = struct.unpack(">I4s", data[entry:entry + 8])
            assert ekind in (b"hvc1", b"hev1"), ekind
            path.append(entry)
            data[entry + esize:entry + esize] = box
            for p in path:
                struct.pack_into(">I", data, p, struct.unpack(">I", data[p:p + 4])[0] + len(box))
            assert data.find(b"moov") > data.find(b"mdat")
            open(dst, "wb").write(data)
            return
        pos += size
    raise RuntimeError("no HEVC sample entry")


# ---- the inputs ----
# The SDR original: a photo, slowly zoomed, 640x360, BT.709 tagged.
sdr = clip("sdr.mp4")
ffmpeg("-loop", "1", "-i", PHOTO, "-vf", "scale=1280:720,setsar=1,zoompan=z='1+0.002*on':d=1:s=640x360:fps=30,"
       "format=yuv420p", "-t", "3", "-c:v", "libx264", "-crf", "10", "-colorspace", "bt709", "-color_primaries",
       "bt709", "-color_trc", "bt709", "-color_range", "tv", sdr)
to_linear = "zscale=tin=709:min=709:pin=709:rin=tv:t=linear:npl=203:f=spline36,format=gbrpf32le,zscale=p=2020"


def hdr_clip(name, trc, depth, x265=""):
    ffmpeg("-i", sdr, "-vf", f"{to_linear},zscale=t={trc}:m=2020_ncl:r=tv:npl=203:f=spline36,"
           f"format=yuv420p{depth}le", "-c:v", "libx265", "-x265-params", "log-level=error:crf=6" + x265,
           "-color_primaries", "bt2020", "-color_trc", trc, "-colorspace", "bt2020nc", clip(name))


hdr_clip("hlg.mp4", "arib-std-b67", 10)
hdr_clip("pq.mp4", "smpte2084", 10)
SANITIZED = os.environ.get("ARCD_TEST_SANITIZED") == "1"
if not SANITIZED:
    hdr_clip("pq12.mp4", "smpte2084", 12, ":max-cll=1000,400")
add_dolby_vision(clip("hlg.mp4"), clip("dv84.mp4"), 8, 4)
add_dolby_vision(clip("pq.mp4"), clip("dv5.mp4"), 5, 0)
# BT.601 (SMPTE 170M) tagged, the same pictures.
ffmpeg("-i", sdr, "-vf", "zscale=tin=709:min=709:pin=709:rin=tv:t=601:m=170m:p=170m:r=tv:f=spline36,format=yuv420p",
       "-c:v", "libx264", "-crf", "8", "-profile:v", "main", "-level", "4.0", "-g", "30", "-colorspace", "smpte170m", "-color_primaries", "smpte170m",
       "-color_trc", "smpte170m", clip("bt601.mp4"))
# Untagged SD in BT.601 (what players assume below 720 lines); untagged HD,
# web-ready H.264 (copied, with tags added).
ffmpeg("-i", clip("bt601.mp4"), "-c", "copy", "-bsf:v",
       "h264_metadata=colour_primaries=2:transfer_characteristics=2:matrix_coefficients=2", clip("sd-untagged.mp4"))
ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "1", "-c:v", "libx264", "-profile:v", "main",
       "-level", "4.0", "-g", "30", "-pix_fmt", "yuv420p", clip("hd-untagged.mp4"))

# ---- arcd's own SDR re-encode: the yardstick ----
CRF = 14  # low enough that the encoder's loss does not hide the colours'
rc, js, out = process("sdr", sdr, crf=CRF)
base = psnr(out, sdr) if rc == 0 else 0
check(rc == 0 and js["video"]["output"]["copied"] is False, f"the SDR original re-encoded ({js.get('error')})")
print(f"     SDR original through arcd at crf {CRF}: {base:.2f} dB")

# ---- HDR: tone-mapped to SDR BT.709 ----
# (Under the sanitizers, scripts/test.sh, HLG and PQ 10-bit only: the 12-bit
# and Dolby Vision clips take the same filter chain, and CI must stay under
# 30 minutes.)
HDR = (("hlg", "HLG 10-bit", "arib-std-b67"), ("pq", "PQ 10-bit", "smpte2084"),
       ("pq12", "PQ 12-bit (MaxCLL 1000)", "smpte2084"), ("dv84", "Dolby Vision 8.4", "arib-std-b67"))
if SANITIZED:
    HDR = HDR[:2]
for name, label, trc in HDR:
    rc, js, out = process(name, clip(name + ".mp4"), crf=CRF)
    check(rc == 0 and js.get("ok"), f"{label}: the job succeeds ({js.get('error')})")
    if rc != 0:
        continue
    col = js["video"]["input"].get("colour", {})
    check(col.get("hdr") is True and col.get("transfer") == trc and col.get("primaries") == "bt2020",
          f"{label}: read as HDR {col.get('transfer')} {col.get('primaries')} {col.get('bitDepth')}-bit")
    check(js["video"]["output"].get("colour", {}).get("transfer") == "bt709",
          f"{label}: the status says the output is bt709 ({js['video']['output'].get('reencodedBecause')!r})")
    db = psnr(out, sdr)
    check(db >= 40 and db >= base - 3, f"{label}: {db:.2f} dB against the SDR original (>= 40, SDR path {base:.2f})")
    tagged_709(out, label)
    if name == "pq12":
        check(col.get("bitDepth") == 12 and col.get("metadataPeakNits") == 1000, f"{label}: 12 bits, MaxCLL read ({col})")
    if name == "dv84":
        check(col.get("dolbyVisionProfile") == 8, f"{label}: Dolby Vision profile 8 noticed ({col})")

# Dolby Vision profile 5: no base layer other players show right.
rc, js, _ = process("dv5", clip("dv5.mp4"))
check(rc != 0 and "Dolby Vision profile 5" in (js.get("error") or ""),
      f"Dolby Vision profile 5 refused with a reason ({js.get('error')})")

# ---- ramps to 1000 cd/m2 (PQ and HLG): highlights rolled off, not clipped ----
# PQ: signal 0 .. 0.7518 (1000 cd/m2) across the width, white (203 cd/m2) at
# 77% of it. HLG: signal 0 .. 1 (1000 cd/m2 on its reference display), white
# at 75%.
for name, trc, top in (("PQ", "smpte2084", 0.7518), ("HLG", "arib-std-b67", 1.0)):
    ramp = clip(f"ramp-{name}.mp4")
    ffmpeg("-f", "lavfi", "-i", "nullsrc=s=640x360:r=30:d=1", "-vf",
           f"format=gbrp16le,geq=r='X/W*{top}*65535':g='X/W*{top}*65535':b='X/W*{top}*65535',"
           f"zscale=pin=2020:tin={trc}:min=gbr:rin=pc:p=2020:t={trc}:m=2020_ncl:r=tv,format=yuv420p10le",
           "-c:v", "libx265", "-x265-params", "log-level=error:crf=4", "-color_primaries", "bt2020",
           "-color_trc", trc, "-colorspace", "bt2020nc", ramp)
    rc, js, out = process(f"ramp-{name}", ramp, "--fit", "contain")
    check(rc == 0, f"the {name} ramp's job succeeds ({js.get('error')})")
    if rc != 0:
        continue
    peak = js["video"]["input"].get("colour", {}).get("toneMapPeakNits", 0)
    check(800 <= peak <= 1050, f"{name} ramp: measured peak {peak} cd/m2 (about 1000)")
    w, h = stream(out)["width"], stream(out)["height"]
    # The Y plane as coded (limited range: white is 235), not expanded.
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", out, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                          "yuv420p", "-"], capture_output=True, check=True).stdout
    row = raw[(h // 2) * w:(h // 2 + 1) * w]
    mean = lambda a, b: sum(row[int(a * w):int(b * w)]) / (int(b * w) - int(a * w))
    mid, hi1, hi2 = mean(0.45, 0.55), mean(0.80, 0.87), mean(0.93, 0.99)
    check(hi2 - hi1 >= 4 and hi1 - mid >= 10 and hi2 <= 236,
          f"{name}: gradation kept above white: luma {mid:.0f} (mid) < {hi1:.0f} < {hi2:.0f} (brightest), "
          f"within 235")
    tagged_709(out, f"{name} ramp")

# ---- SDR in BT.601: converted, not just relabelled ----
rc, js, out = process("bt601", clip("bt601.mp4"), crf=CRF)
asis = psnr(clip("bt601.mp4"), sdr)
db = psnr(out, sdr) if rc == 0 else 0
check(rc == 0 and js["video"]["output"].get("reencodedBecause") == "colours not BT.709",
      f"BT.601: re-encoded because {js.get('video', {}).get('output', {}).get('reencodedBecause')!r}")
check(db >= 40 and db > asis + 2, f"BT.601: {db:.2f} dB against the BT.709 original (read as BT.709: {asis:.2f})")
tagged_709(out, "BT.601")
rc, js, out = process("sd-untagged", clip("sd-untagged.mp4"), crf=CRF)
db = psnr(out, sdr) if rc == 0 else 0
col = js.get("video", {}).get("input", {}).get("colour", {})
check(rc == 0 and col.get("assumed") is True and col.get("matrix") == "smpte170m" and db >= 40,
      f"untagged SD: assumed BT.601 ({col.get('matrix')}), {db:.2f} dB")
tagged_709(out, "untagged SD")
rc, js, out = process("hd-untagged", clip("hd-untagged.mp4"))
check(rc == 0 and js["video"]["output"]["copied"] is True and
      js["video"]["input"].get("colour", {}).get("assumed") is True,
      f"untagged HD: assumed BT.709 and copied ({js.get('video', {}).get('output')})")
tagged_709(out, "untagged HD, copied")

# ---- variable frame rate: every frame at its own time ----
# 1.5 s at 30 fps, then 1.5 s at 20 fps (a phone dropping its rate in the dark).
ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "3", "-vf",
       "setpts='if(lt(N,45),N/30,1.5+(N-45)/20)/TB'", "-fps_mode", "vfr", "-c:v", "libx264", "-g", "15",
       "-pix_fmt", "yuv444p", clip("vfr.mp4"))


def frame_times(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
                          "-of", "csv=p=0", path], capture_output=True, text=True, check=True).stdout
    return [float(x.strip(",")) for x in out.split() if x.strip(",")]


rc, js, out = process("vfr", clip("vfr.mp4"))
check(rc == 0, f"the VFR clip's job succeeds ({js.get('error')})")
if rc == 0:
    a, b = frame_times(clip("vfr.mp4")), frame_times(out)
    a0, b0 = a[0], b[0]
    same = len(a) == len(b) and all(abs((x - a0) - (y - b0)) < 0.002 for x, y in zip(a, b))
    check(same, f"VFR: {len(b)} frames at the upload's times ({len(a)} in; first differing: "
          f"{next(((x - a0, y - b0) for x, y in zip(a, b) if abs((x - a0) - (y - b0)) >= 0.002), None)})")

# ---- smart crop: the person off-centre stays in the picture ----
# 640x360, a skin-toned figure on the left third over a dull textured
# ground; the photo is square, so cover crops a 360x360 window.
ffmpeg("-f", "lavfi", "-i", "nullsrc=s=640x360:r=30:d=2", "-vf",
       "format=rgb24,geq="
       "r='if(lt(hypot((X-130)/55,(Y-150)/75),1),224,if(lt(hypot((X-130)/90,(Y-330)/110),1),60,90+8*sin(X/9)))':"
       "g='if(lt(hypot((X-130)/55,(Y-150)/75),1),172,if(lt(hypot((X-130)/90,(Y-330)/110),1),70,96+8*sin(X/9)))':"
       "b='if(lt(hypot((X-130)/55,(Y-150)/75),1),140,if(lt(hypot((X-130)/90,(Y-330)/110),1),120,100+8*sin(X/9)))',"
       "format=yuv420p", "-c:v", "libx264", "-crf", "12", "-colorspace", "bt709", "-color_primaries", "bt709",
       "-color_trc", "bt709", clip("person.mp4"))
rc, js, out = process("person", clip("person.mp4"), "--fit", "cover")
crop = js.get("video", {}).get("output", {}).get("crop", {}) if rc == 0 else {}
x = crop.get("x", 999)
check(crop.get("placedBy") == "salience" and crop.get("width") == 360 and x <= 75 and x + 360 >= 185,
      f"smart crop: the window holds the figure's head (x 75-185) whole, the centre cuts it ({crop})")
rc, js, out = process("person-centre", clip("person.mp4"), "--fit", "cover", "--smart-crop", "off")
crop = js.get("video", {}).get("output", {}).get("crop", {}) if rc == 0 else {}
check(crop.get("placedBy") == "centre" and crop.get("x") == 140, f"--smart-crop off: centred ({crop})")

helpers.finish("{} failure(s)")
