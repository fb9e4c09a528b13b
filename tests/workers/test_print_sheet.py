#!/usr/bin/env python3
"""The print sheet (workers/stage_sheet.c) through `arcd process`, checked from the
outside: pdfinfo reads the page size, pdftoppm renders the page, zbarimg decodes
the QR code on the render, the photo's printed size is measured on the render
(within 1 mm of the request, or of the largest that fits), the crop marks are
found where a cutter needs them, pdftotext reads the caption, pdfimages shows
the photo is the one image (the QR code is vectors) and embedded as a JPEG.

usage: test_print_sheet.py ARCD ROOT"""
import json
import os
import re
import subprocess
import tempfile

import helpers
from helpers import check, ffmpeg

PORTRAIT = helpers.PHOTO  # square, 1080 px
MM_PER_PT = 25.4 / 72
DPI = 150
PX_PER_MM = DPI / 25.4
PAPERS = {"10x15": (102, 152), "13x18": (127, 178), "15x21": (152, 216), "A5": (148, 210),
          "A4": (210, 297)}


def process(out, photos, *opts):
    rc, js, err = helpers.process(out, photos, [], *opts)
    return rc, (js if rc == 0 else None), err


def page_sizes(pdf):
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "99", pdf], capture_output=True, text=True,
                         check=True).stdout
    return [(float(w) * MM_PER_PT, float(h) * MM_PER_PT)
            for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out)]


def render(pdf, page, prefix):
    """Page `page` at DPI as (width, height, rgb bytes), from pdftoppm's PPM."""
    subprocess.run(["pdftoppm", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile",
                    pdf, prefix], check=True)
    with open(prefix + ".ppm", "rb") as f:
        data = f.read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    return w, h, data[m.end():]


def ink(img, x, y):
    """1 when the pixel at (x, y) is not the paper's white."""
    w, h, px = img
    if not (0 <= x < w and 0 <= y < h):
        return 0
    i = (y * w + x) * 3
    return 1 if min(px[i], px[i + 1], px[i + 2]) < 235 else 0


def photo_box(img, near):
    """The photo's edges on the render, in mm: from its reported box `near`
    (mm), each edge searched within 4 mm for the line where the ink starts
    (more than half of the edge's pixels inked)."""
    x0, y0 = near["x"] * PX_PER_MM, near["y"] * PX_PER_MM
    x1, y1 = x0 + near["width"] * PX_PER_MM, y0 + near["height"] * PX_PER_MM
    reach = int(4 * PX_PER_MM)

    def inked_col(x):
        ys = range(int(y0 + 10), int(y1 - 10), 3)
        return sum(ink(img, x, y) for y in ys) > len(ys) / 2

    def inked_row(y):
        xs = range(int(x0 + 10), int(x1 - 10), 3)
        return sum(ink(img, x, y) for x in xs) > len(xs) / 2

    left = next(x for x in range(int(x0) - reach, int(x0) + reach) if inked_col(x))
    right = next(x for x in range(int(x1) + reach, int(x1) - reach, -1) if inked_col(x)) + 1
    top = next(y for y in range(int(y0) - reach, int(y0) + reach) if inked_row(y))
    bottom = next(y for y in range(int(y1) + reach, int(y1) - reach, -1) if inked_row(y)) + 1
    return left / PX_PER_MM, top / PX_PER_MM, right / PX_PER_MM, bottom / PX_PER_MM


def marks_found(img, box):
    """How many of the 8 crop marks are on the render: ink 3.5 mm out from
    each corner in line with the edges, and none 1 mm out (clear of the
    photo)."""
    left, top, right, bottom = box
    found = 0
    for cx, sx in ((left, -1), (right, 1)):
        for cy, sy in ((top, -1), (bottom, 1)):
            # The horizontal mark: beside the corner, on the edge's line.
            hx = int((cx + sx * 3.5) * PX_PER_MM)
            hy = int(cy * PX_PER_MM)
            h = any(ink(img, hx, hy + d) for d in (-2, -1, 0, 1)) and \
                not any(ink(img, int((cx + sx * 1.0) * PX_PER_MM), hy + d) for d in (-1, 0))
            vx = int(cx * PX_PER_MM)
            vy = int((cy + sy * 3.5) * PX_PER_MM)
            v = any(ink(img, vx + d, vy) for d in (-2, -1, 0, 1)) and \
                not any(ink(img, vx + d, int((cy + sy * 1.0) * PX_PER_MM)) for d in (-1, 0))
            found += h + v
    return found


def zbar(prefix):
    r = subprocess.run(["zbarimg", "-q", "--raw", prefix + ".ppm"], capture_output=True, text=True)
    return r.stdout.strip()


def text_of(pdf):
    return subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True,
                          check=True).stdout


def images_of(pdf):
    out = subprocess.run(["pdfimages", "-list", pdf], capture_output=True, text=True,
                         check=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def sheet_info(js):
    return js["items"][0]["photo"].get("printSheet", {})


VIEW = "/ar/view/00000000-0000-4000-8000-000000000000"

with tempfile.TemporaryDirectory() as tmp:
    landscape = os.path.join(tmp, "landscape.jpg")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=3000x2000", "-frames:v", "1", "-q:v", "3", landscape)
    tall = os.path.join(tmp, "tall.png")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=900x1600", "-frames:v", "1", tall)

    # ---- every paper, both orientations: the page, the photo, the code ----
    # (Under the sanitizers, scripts/test.sh: the smallest and the largest.)
    light = os.environ.get("ARCD_TEST_SANITIZED") == "1"
    papers = {k: PAPERS[k] for k in ("10x15", "A4")} if light else PAPERS
    for paper, (pw, ph) in papers.items():
        for photo, name, want_land in ((landscape, "landscape", True), (tall, "portrait", False)):
            out = os.path.join(tmp, f"{paper}-{name}")
            rc, js, err = process(out, [photo], "--print-size", paper.lower(),
                                  "--print-language", "en")
            check(rc == 0 and "print-sheet.pdf" in js["files"],
                  f"{paper} {name}: the job makes print-sheet.pdf ({err.strip()[-200:]})")
            if rc != 0:
                continue
            pdf = os.path.join(out, "print-sheet.pdf")
            info = sheet_info(js)
            page = info["pages"][0]
            sizes = page_sizes(pdf)
            want = (ph, pw) if want_land else (pw, ph)
            check(len(sizes) == 1 and abs(sizes[0][0] - want[0]) < 0.2 and
                  abs(sizes[0][1] - want[1]) < 0.2,
                  f"{paper} {name}: pdfinfo's page is {want[0]}x{want[1]} mm ({sizes})")
            img = render(pdf, 1, os.path.join(out, "render"))
            left, top, right, bottom = photo_box(img, page["photoMm"])
            rep = page["photoMm"]
            check(abs((right - left) - rep["width"]) <= 1 and
                  abs((bottom - top) - rep["height"]) <= 1,
                  f"{paper} {name}: the photo measures {right - left:.1f}x{bottom - top:.1f} mm "
                  f"on the render, reported {rep['width']:.1f}x{rep['height']:.1f}")
            check(left >= 10 and top >= 10 and right <= want[0] - 10 and bottom <= want[1] - 10,
                  f"{paper} {name}: the photo keeps the margins and the marks' band "
                  f"({left:.1f}, {top:.1f}, {want[0] - right:.1f}, {want[1] - bottom:.1f} mm)")
            check(marks_found(img, (left, top, right, bottom)) == 8,
                  f"{paper} {name}: the 8 crop marks are at the corners, clear of the photo")
            qr = zbar(os.path.join(out, "render"))
            check(qr.endswith(VIEW), f"{paper} {name}: the QR code on the render decodes ({qr})")
            # The largest that fits: 2 mm more on the long side does not
            # (on the smallest and the largest paper: each is a whole job).
            if paper not in (("10x15",) if light else ("10x15", "A4")):
                continue
            longest = max(rep["width"], rep["height"])
            rc2, js2, _ = process(os.path.join(out, "more"), [photo], "--print-size", paper,
                                  "--print-photo-mm", f"{longest + 2:.1f}")
            err2 = sheet_info(js2).get("error", "") if js2 else ""
            check(rc2 == 0 and "print-sheet.pdf" not in js2["files"] and "does not fit" in err2,
                  f"{paper} {name}: {longest:.0f} mm is the largest: {longest + 2:.0f} mm does not "
                  f"fit ({err2})")

    # ---- an exact size, measured ----
    for paper, mm in (("A4", 150),) if light else (("A4", 150), ("10x15", 60), ("A5", 90)):
        out = os.path.join(tmp, f"exact-{paper}-{mm}")
        rc, js, err = process(out, [landscape], "--print-size", paper, "--print-photo-mm",
                              str(mm))
        check(rc == 0 and "print-sheet.pdf" in js["files"], f"{paper} at {mm} mm: a sheet")
        if rc != 0:
            continue
        page = sheet_info(js)["pages"][0]
        img = render(os.path.join(out, "print-sheet.pdf"), 1, os.path.join(out, "render"))
        left, top, right, bottom = photo_box(img, page["photoMm"])
        # The print is the photo with its border: its own aspect.
        pr = js["items"][0]["photo"]["print"]
        short = mm * pr["height"] / pr["width"]
        check(abs((right - left) - mm) <= 1 and abs((bottom - top) - short) <= 1,
              f"{paper} at {mm} mm: the photo measures {right - left:.2f} x {bottom - top:.2f} mm "
              f"on the render (asked {mm} x {short:.2f})")
        check(zbar(os.path.join(out, "render")).endswith(VIEW), f"{paper} at {mm} mm: the QR decodes")

    # ---- the photo is a JPEG, the QR code vectors, the caption text ----
    out = os.path.join(tmp, "ru")
    rc, js, err = process(out, [landscape], "--print-size", "A4", "--print-language", "ru")
    pdf = os.path.join(out, "print-sheet.pdf")
    imgs = images_of(pdf) if rc == 0 else []
    check(len(imgs) == 1 and imgs[0][2] == "image" and imgs[0][8] == "jpeg",
          f"the page's one image is the photo, a JPEG: the QR code is vectors ({imgs})")
    page = sheet_info(js)["pages"][0] if rc == 0 else {}
    want_px = page.get("photoMm", {}).get("width", 0) / 25.4 * 300
    check(rc == 0 and imgs and abs(int(imgs[0][3]) - want_px) <= 2 and page["dpi"] == 300,
          f"a large print is resampled to 300 dpi: {imgs[0][3] if imgs else '?'} px for "
          f"{page.get('photoMm', {}).get('width', 0):.1f} mm")
    words = " ".join(text_of(pdf).split()) if rc == 0 else ""
    check("Отсканируйте, чтобы оживить фото" in words, f"the Russian caption ({words})")
    check(os.path.getsize(pdf) < 3 * os.path.getsize(os.path.join(out, "print.jpg")),
          f"the sheet ({os.path.getsize(pdf)} bytes) carries the JPEG, not raw pixels")
    out = os.path.join(tmp, "en")
    rc, js, err = process(out, [PORTRAIT], "--print-size", "A5", "--print-language", "en")
    words = " ".join(text_of(os.path.join(out, "print-sheet.pdf")).split()) if rc == 0 else ""
    check("Scan to bring the photo to life" in words, f"the English caption ({words})")
    imgs = images_of(os.path.join(out, "print-sheet.pdf")) if rc == 0 else []
    full = js["items"][0]["photo"]["fullPrint"] if rc == 0 else {}
    with open(os.path.join(out, "print.jpg"), "rb") as f:
        jpeg = f.read()
    with open(os.path.join(out, "print-sheet.pdf"), "rb") as f:
        sheet = f.read()
    check(len(imgs) == 1 and imgs[0][8] == "jpeg" and int(imgs[0][3]) == full.get("width") and
          jpeg[2:] in sheet,
          f"a print of less than 300 dpi is embedded as it is, print.jpg's bytes ({imgs})")

    # ---- two pairs: two pages, each with its photo and the code ----
    out = os.path.join(tmp, "two")
    rc, js, err = process(out, [landscape, tall], "--print-size", "13x18")
    pdf = os.path.join(out, "print-sheet.pdf")
    sizes = page_sizes(pdf) if rc == 0 else []
    check(len(sizes) == 2 and sizes[0][0] > sizes[0][1] and sizes[1][0] < sizes[1][1],
          f"two pairs: two pages, each turned to its photo ({sizes})")
    for p in (1, 2):
        if rc == 0:
            render(pdf, p, os.path.join(out, f"p{p}"))
            check(zbar(os.path.join(out, f"p{p}")).endswith(VIEW), f"page {p}'s QR code decodes")

    # ---- a shop's lower photo.maxPixels: the uploads' limit, not the print's ----
    # (review: a 2000x1400 photo under 3 MP has a 4.3 MP print.jpg, and its
    # sheet failed as "over the limit")
    conf = os.path.join(tmp, "small-limit.json")
    with open(conf, "w") as f:
        json.dump({"photo": {"maxPixels": 3000000}}, f)
    mid = os.path.join(tmp, "mid.jpg")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=2000x1400", "-frames:v", "1", mid)
    rc, js, err = process(os.path.join(tmp, "limit"), [mid], "--config", conf)
    info = sheet_info(js) if js else {}
    check(rc == 0 and "print-sheet.pdf" in js["files"] and js["items"][0]["photo"]["fullPrint"]
          .get("width", 0) * js["items"][0]["photo"]["fullPrint"].get("height", 0) > 3000000,
          f"photo.maxPixels 3 MP: the 4.3 MP print still makes its sheet ({info.get('error')})")

    # ---- what cannot be: said, and the job stays good ----
    out = os.path.join(tmp, "toolarge")
    rc, js, err = process(out, [landscape], "--print-size", "10x15", "--print-photo-mm", "200")
    info = sheet_info(js) if js else {}
    check(rc == 0 and js["ok"] and "print-sheet.pdf" not in js["files"] and
          not os.path.exists(os.path.join(out, "print-sheet.pdf")) and
          "200 mm does not fit on 10x15" in info.get("error", ""),
          f"a 200 mm photo on 10x15: the job is ready without a sheet, saying why ({info})")
    # (review) a run that cannot make the sheet leaves no earlier one behind
    out = os.path.join(tmp, "again")
    rc, js, err = process(out, [landscape], "--print-size", "A4")
    made = rc == 0 and os.path.exists(os.path.join(out, "print-sheet.pdf"))
    rc, js, err = process(out, [landscape], "--print-size", "A4", "--print-photo-mm", "500")
    check(made and rc == 0 and not os.path.exists(os.path.join(out, "print-sheet.pdf")),
          f"a second run that cannot make its sheet removes the first one's ({err.strip()[-120:]})")
    # (review) with several pairs the reason names the pair
    rc, js, err = process(os.path.join(tmp, "pairs"), [landscape, tall], "--print-size", "10x15",
                          "--print-photo-mm", "200")
    info = sheet_info(js) if js else {}
    check(rc == 0 and info.get("error", "").startswith("photo 1: a photo of 200 mm"),
          f"two pairs: the reason names the pair ({info.get('error')})")
    rc, _, err = process(os.path.join(tmp, "small"), [landscape], "--print-photo-mm", "5")
    info = sheet_info(_) if _ else {}
    check(rc == 0 and "at least 20 mm" in info.get("error", ""), f"a 5 mm photo: refused ({info})")
    for bad in (("--print-size", "A3"), ("--print-language", "de"), ("--print-photo-mm", "x")):
        rc, _, err = process(os.path.join(tmp, "bad"), [landscape], *bad)
        check(rc == 2 and bad[0] in err, f"{' '.join(bad)}: refused ({err.strip()})")

helpers.finish()
