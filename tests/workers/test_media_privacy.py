#!/usr/bin/env python3
"""No output of a project carries the upload's camera or location metadata
(workers/stage_video.c, the encoders in src/image/), through `arcd process`:

- a JPEG with EXIF (GPS, make, model, serial, dates, maker note), XMP, ICC,
  IPTC and a comment, and a PNG with eXIf, tEXt, iTXt and zTXt, both made by
  tests/tools/mkimage (tag-jpeg, tag-png);
- a web-ready H.264/AAC MP4 (stream-copied) and an iPhone-style MOV
  (re-encoded), both tagged with ffmpeg: location, make, model, creation_time,
  handler names, com.apple.quicktime.* keys, and SEI user data in the H.264
  stream.

Every file the project lists is searched, byte by byte, for every planted
value; JPEGs may hold no segment but JFIF, PNGs no ancillary chunk; the MP4's
tags, boxes, side data and SEI are checked with ffprobe and a box walker.

usage: test_media_privacy.py ARCD MKIMAGE ROOT"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

import helpers
from helpers import PHOTO, check, ffmpeg, probe, slices_md5

MKIMAGE = sys.argv[2]


def run(*args):
    subprocess.run(args, check=True)


def process(out, photo, video):
    rc, js, _ = helpers.process(out, [photo], [video])
    return rc, js


# What the uploads carry; the EXIF values are tests/tools/mkimage.c's TAG_*.
PHOTO_NEEDLES = [b"ArcdTestMake", b"ArcdTestPhone 15 Pro", b"SN-ARCD-4815162342", b"2021:07:04 12:34:56",
                 b"ArcdTestFirmware", b"ArcdTestMakerNote", b"ArcdTestXmpCreator", b"ArcdTestIptcCity",
                 b"ArcdTestComment", b"ArcdTestIccProfile", b"Exif\0\0",
                 # GPSLatitude and GPSLongitude as little-endian TIFF rationals
                 struct.pack("<6I", 48, 1, 51, 1, 3024, 100), struct.pack("<6I", 2, 1, 17, 1, 4020, 100)]
LOCATION = "+48.8584+002.2945/"
ISO6709 = "+48.8584+002.2945+035.000/"
SEI_TEXT = "GPS +48.8584+002.2945 Apple iPhone 15 SN-F17ZX123"
VIDEO_META = ["-metadata", "location=" + LOCATION, "-metadata", "make=Apple", "-metadata", "model=iPhone 15",
              "-metadata", "creation_time=2021-07-04T12:34:56Z",
              "-metadata", "com.apple.quicktime.location.ISO6709=" + ISO6709,
              "-metadata", "com.apple.quicktime.make=Apple", "-metadata", "com.apple.quicktime.model=iPhone 15",
              "-metadata", "com.apple.quicktime.software=17.1 (21B74)",
              "-metadata", "com.apple.quicktime.creationdate=2021-07-04T14:34:56+0200",
              "-metadata", "com.apple.quicktime.camera.lens_model=iPhone 15 back camera 6.1mm f/1.6",
              "-metadata:s:v", "handler_name=Core Media Video SN-F17ZX123",
              "-metadata:s:a", "handler_name=Core Media Audio SN-F17ZX123",
              "-movflags", "use_metadata_tags"]
VIDEO_NEEDLES = [b"+48.8584", b"Apple", b"iPhone 15", b"SN-F17ZX123", b"2021-07-04", b"Core Media",
                 b"com.apple.quicktime", b"21B74", b"x264 - core"]
SEI_USER_DATA = "h264_metadata=sei_user_data=a8f1c2d3-0b1e-4c5d-9e8f-112233445566+" + SEI_TEXT


def planted(path, needles):
    """The needles found in the file's bytes."""
    with open(path, "rb") as f:
        data = f.read()
    return [n for n in needles if n in data]


def jpeg_segments(path):
    """The markers before the image data (SOS), as (marker, first bytes)."""
    with open(path, "rb") as f:
        d = f.read()
    segs, p = [], 2
    while p + 4 <= len(d) and d[p] == 0xFF:
        m = d[p + 1]
        if m == 0xDA:
            break
        n = struct.unpack(">H", d[p + 2:p + 4])[0]
        segs.append((m, d[p + 4:p + 4 + min(n - 2, 14)]))
        p += 2 + n
    return segs


def png_chunks(path):
    with open(path, "rb") as f:
        d = f.read()
    chunks, p = [], 8
    while p + 8 <= len(d):
        n, kind = struct.unpack(">I4s", d[p:p + 8])
        chunks.append(kind.decode("latin-1"))
        p += 12 + n
    return chunks


CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "udta", "edts", "dinf"}
BOX_ALLOWED = {"ftyp", "moov", "mdat", "free", "mvhd", "trak", "tkhd", "edts", "elst", "mdia", "mdhd", "hdlr",
               "minf", "vmhd", "smhd", "dinf", "dref", "stbl", "stsd", "stts", "stss", "ctts", "stsc", "stsz",
               "stco", "co64", "sgpd", "sbgp", "udta", "meta", "ilst"}


def mp4_boxes(path):
    """Every box of the file's tree (not inside stsd): (path, type, size, payload's first 24 bytes)."""
    out = []
    with open(path, "rb") as f:
        def walk(start, end, parent):
            while start + 8 <= end:
                f.seek(start)
                size, kind = struct.unpack(">I4s", f.read(8))
                head = 8
                if size == 1:
                    size, head = struct.unpack(">Q", f.read(8))[0], 16
                elif size == 0:
                    size = end - start
                if size < head:
                    return
                kind = kind.decode("latin-1")
                f.seek(start + head)
                out.append((parent + "/" + kind, kind, size, f.read(min(24, size - head))))
                if kind in CONTAINERS:
                    walk(start + head, start + size, parent + "/" + kind)
                elif kind == "meta":
                    walk(start + head + 4, start + size, parent + "/" + kind)
                start += size
        walk(0, os.path.getsize(path), "")
    return out


def box_times(payload):
    """creation and modification time of mvhd, tkhd or mdhd."""
    if payload[0] == 1:
        return struct.unpack(">QQ", payload[4:20])
    return struct.unpack(">II", payload[4:12])


def sei_types(path):
    """The SEI payload types of the file's H.264 stream (trace_headers)."""
    r = subprocess.run(["ffmpeg", "-hide_banner", "-v", "info", "-i", path, "-map", "0:v", "-c", "copy",
                        "-bsf:v", "trace_headers", "-f", "null", "-"], capture_output=True, text=True)
    return [int(t) for t in re.findall(r"last_payload_type_byte\s+[01]+\s*=\s*(\d+)", r.stderr)]


def tags_of(info):
    tags = {"format": info.get("format", {}).get("tags", {})}
    for s in info.get("streams", []):
        tags["stream %d" % s["index"]] = s.get("tags", {})
    return tags


def check_outputs(out, js, what, own=()):
    """Every file the project lists: no planted value, no metadata segment or chunk.
    own: needles that are arcd's own in ar-video.mp4 (its encoder's banner)."""
    files = js.get("files", [])
    on_disk = sorted(n for n in os.listdir(out) if not os.path.islink(os.path.join(out, n)))
    check(sorted(files) == on_disk, f"{what}: the outputs are the files listed ({files})")
    for name in files:
        path = os.path.join(out, name)
        needles = PHOTO_NEEDLES + VIDEO_NEEDLES + [SEI_TEXT.encode(), LOCATION.encode()]
        found = planted(path, [n for n in needles if not (name == "ar-video.mp4" and n in own)])
        check(not found, f"{what}: {name} holds none of the upload's metadata ({found})")
        if name.endswith(".jpg"):
            segs = jpeg_segments(path)
            extra = [(hex(m), h) for m, h in segs if m == 0xFE or (0xE0 <= m <= 0xEF and
                                                                  not (m == 0xE0 and h.startswith(b"JFIF\0")))]
            check(not extra and segs, f"{what}: {name} has no APPn but JFIF and no comment ({extra})")
        if name.endswith(".png"):
            chunks = png_chunks(path)
            extra = [c for c in chunks if c not in ("IHDR", "PLTE", "IDAT", "IEND")]
            check(chunks[:1] == ["IHDR"] and not extra, f"{what}: {name} has no ancillary chunk ({extra})")


def check_video(out, what, input_info):
    mp4 = os.path.join(out, "ar-video.mp4")
    info = probe(mp4)
    in_tags = tags_of(input_info)
    # The input really carries what the output must not (else the test proves nothing).
    flat_in = json.dumps(in_tags)
    check(all(s in flat_in for s in (LOCATION, "iPhone 15", "com.apple.quicktime.location.ISO6709", "creation_time",
                                     "Core Media Video")),
          f"{what}: the upload carries location, make, model, creation_time, handler names")
    tags = tags_of(info)
    bad = {k: {t: v for t, v in d.items()
               if not (k == "format" and t in ("major_brand", "minor_version", "compatible_brands"))
               and not (k != "format" and t in ("language", "vendor_id"))
               and not (k != "format" and t == "handler_name" and v in ("VideoHandler", "SoundHandler"))}
           for k, d in tags.items()}
    bad = {k: d for k, d in bad.items() if d}
    check(not bad, f"{what}: ar-video.mp4 has no tag but brands, language and generic handlers ({bad})")
    side = [sd.get("side_data_type") for s in info["streams"] for sd in s.get("side_data_list", [])]
    check(not side, f"{what}: ar-video.mp4 carries no side data, no display matrix either ({side})")
    boxes = mp4_boxes(mp4)
    odd = sorted({b[1] for b in boxes if b[1] not in BOX_ALLOWED})
    check(not odd, f"{what}: ar-video.mp4 has no metadata box (keys, udta entries, ...): {odd}")
    ilst = [b for b in boxes if b[1] == "ilst" and b[2] > 8]
    check(not ilst, f"{what}: any ilst is empty ({[b[0] for b in ilst]})")
    times = [(b[0], box_times(b[3])) for b in boxes if b[1] in ("mvhd", "tkhd", "mdhd")]
    check(len(times) == 5 and all(t == (0, 0) for _, t in times),
          f"{what}: creation and modification times are not set ({times})")
    poster = os.path.join(out, "poster.jpg")
    pinfo = probe(poster, "-show_frames")
    ptags = {k: v for k, v in tags_of(pinfo).items() if v}
    ptags.update({"frame": f.get("tags") for f in pinfo.get("frames", []) if f.get("tags")})
    check(not ptags, f"{what}: poster.jpg has no tag ({ptags})")
    return info


work = tempfile.mkdtemp(prefix="arcd-privacy-")
at = lambda name: os.path.join(work, name)

# ---- the tagged photos ----
run(MKIMAGE, "tag-jpeg", PHOTO, at("tagged.jpg"))
ffmpeg("-i", PHOTO, "-pix_fmt", "gray", at("photo.pgm"))
run(MKIMAGE, "tag-png", at("photo.pgm"), at("tagged.png"))
check(planted(at("tagged.jpg"), PHOTO_NEEDLES) == PHOTO_NEEDLES, "the tagged JPEG carries every planted value")
check({"eXIf", "tEXt", "iTXt", "zTXt"} <= set(png_chunks(at("tagged.png"))),
      "the tagged PNG has eXIf, tEXt, iTXt and zTXt")

# ---- the tagged videos ----
# Web-ready (H.264 Main 3.1, 4:2:0, BT.709, AAC, a keyframe a second): copied. HRD
# timing SEI is there to show that SEI other than user data stays.
ffmpeg("-f", "lavfi", "-i", "testsrc2=size=480x320:rate=30", "-f", "lavfi", "-i",
       "sine=frequency=500:sample_rate=48000", "-t", "2", "-c:v", "libx264", "-profile:v", "main", "-level", "3.1",
       "-pix_fmt", "yuv420p", "-g", "30", "-x264-params", "nal-hrd=vbr:vbv-maxrate=1500:vbv-bufsize=3000",
       "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
       "-c:a", "aac", "-bsf:v", SEI_USER_DATA, *VIDEO_META, at("tagged.mp4"))
# As an iPhone writes: High profile, portrait by a display matrix, QuickTime keys: re-encoded.
ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i",
       "sine=frequency=440:sample_rate=44100", "-t", "2", "-c:v", "libx264", "-profile:v", "high",
       "-pix_fmt", "yuv420p", "-c:a", "aac", "-bsf:v", SEI_USER_DATA, at("landscape.mov"))
ffmpeg("-i", at("landscape.mov"), "-c", "copy", "-metadata:s:v:0", "rotate=90", *VIDEO_META, at("iphone.mov"))
in_mp4, in_mov = probe(at("tagged.mp4")), probe(at("iphone.mov"))
check(SEI_TEXT.encode() in open(at("tagged.mp4"), "rb").read() and 5 in sei_types(at("tagged.mp4")),
      "the MP4's H.264 stream carries SEI user data")
check(any(sd.get("side_data_type") == "Display Matrix" for s in in_mov["streams"]
          for sd in s.get("side_data_list", [])), "the MOV has a display matrix")

# ---- tagged JPEG + web-ready MP4: the stream copy ----
rc, js = process(at("out-mp4"), at("tagged.jpg"), at("tagged.mp4"))
check(rc == 0 and js.get("ok"), f"the job succeeds ({js.get('error')})")
if rc == 0:
    check(js["video"]["output"]["copied"] is True, f"the MP4 is stream-copied ({js['video']['output']})")
    check_outputs(at("out-mp4"), js, "JPEG + MP4")
    check_video(at("out-mp4"), "copied MP4", in_mp4)
    types = sei_types(at("out-mp4/ar-video.mp4"))
    check(4 not in types and 5 not in types and 0 in types and 1 in types,
          f"the copy drops SEI user data and keeps the timing SEI (types {sorted(set(types))})")
    check(slices_md5(at("tagged.mp4")) == slices_md5(at("out-mp4/ar-video.mp4")),
          "every other NAL unit of the copy is the upload's, byte for byte")

# ---- tagged PNG + iPhone MOV: the re-encode ----
rc, js = process(at("out-mov"), at("tagged.png"), at("iphone.mov"))
check(rc == 0 and js.get("ok"), f"the job succeeds ({js.get('error')})")
if rc == 0:
    vo = js["video"]
    check(vo["output"]["copied"] is False and vo["input"]["rotation"] in (90, 270),
          f"the MOV is re-encoded, turned upright ({vo['input']['rotation']}, {vo['output'].get('reencodedBecause')})")
    # A re-encode carries arcd's own x264 banner, not the upload's.
    check_outputs(at("out-mov"), js, "PNG + MOV", own=(b"x264 - core",))
    check_video(at("out-mov"), "re-encoded MOV", in_mov)

subprocess.run(["rm", "-rf", work])
helpers.finish()
