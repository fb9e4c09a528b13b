"""The HTTP API against a real daemon and PostgreSQL: a demo from upload to
ready, status with long poll and SSE, the view redirect, project files with
Range and ETag, and bad requests of every kind with their status, JSON error
and no temporary file left behind.
usage (inside pg_virtualenv): 10_api.py ARCD"""
import http.client
import gzip
import hashlib
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time

from harness import ADMIN_TOKEN, ARCD, DATA, Daemon, check, fake_mp4, finish, sample_mp4, photo_bytes, psql

# Bad settings stop the daemon at start-up with one line per problem.
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump({"server": {"listen": "nowhere", "maxHeaderBytes": 5}, "workers": {"count": "two"},
               "colour": "red"}, f)
env = dict(os.environ, ARCD_POOL_SIZE="zero")
r = subprocess.run([ARCD, "serve", "--config", f.name], capture_output=True, text=True, env=env, timeout=30)
check(r.returncode == 2 and "maxHeaderBytes must be an integer" in r.stderr and "workers.count" in r.stderr
      and "unknown key 'colour'" in r.stderr, f"bad config: exit 2, every problem named ({r.stderr.strip()})")
os.unlink(f.name)

d = Daemon(limits={"photoBytes": 3_000_000, "videoBytes": 300_000, "uploadBytes": 3_500_000,
                   "uploadsPerMinute": 1000},
           server={"maxHeaderBytes": 4096, "headerTimeoutMs": 1000})
slow_result = {}


def slow_sender():
    """A client dripping its body: cut off by the slow-sender guard."""
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(b"POST /api/ar/create-demo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_TOKEN.encode() + b"\r\nContent-Type: multipart/form-data; "
              b"boundary=q\r\nContent-Length: 100000\r\n\r\n--q\r\n")
    t0 = time.time()
    s.settimeout(1)
    resp = b""
    while time.time() - t0 < 30 and not resp:
        try:
            s.sendall(b"x")
            resp = s.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            break
    slow_result["resp"] = resp.decode(errors="replace")
    slow_result["secs"] = time.time() - t0
    s.close()


try:
    photo = photo_bytes("pictarize.jpg")
    video = sample_mp4()
    slow = threading.Thread(target=slow_sender)
    slow.start()

    # ---- a demo from upload to ready ----
    st, h, js = d.upload(photo, video, {"fitMode": "cover", "config": json.dumps({"filterMinCF": 0.001})})
    check(st == 202, f"create-demo answers 202 ({st} {js})")
    ar = js["arId"]
    check(js["status"] == "pending" and js["statusUrl"].endswith(f"/api/ar/status/{ar}")
          and js["viewUrl"].endswith(f"/ar/view/{ar}") and js["isDemo"] is True and js["expiresAt"],
          "create-demo: arId, pending, statusUrl, viewUrl, isDemo, expiresAt")
    check(len(ar) == 36 and ar.count("-") == 4, "the id is a UUID")
    final = d.wait_status(ar)
    check(final and final["status"] == "ready", f"the demo ends ready ({final and final.get('errorMessage')})")
    check(final["progress"] == 100 and final["stage"] == "done", "progress 100, stage done")
    check(final["markerUrl"] and final["videoUrl"] and final["compilationTimeMs"] is not None,
          "status lists markerUrl, videoUrl, compilationTimeMs")
    # pictarize.jpg is 800x800: the print adds a border of 12% of it on each side.
    ph = final["photo"]
    check(ph["width"] == 992 and ph["height"] == 992, f"print size in the status ({ph})")
    check(ph.get("fullPrint") == {"file": "print.jpg", "width": 992, "height": 992}
          and ph.get("printSheet", {}).get("file") == "print-sheet.pdf"
          and final.get("printSheetUrl", "").endswith("/print-sheet.pdf"),
          "the status tells print.jpg's size and the print sheet's layout, with printSheetUrl")
    check(final["fitMode"] == "cover"
          and set(final["timings"]) >= {"photo", "border", "marker", "features", "video", "viewer", "qr"},
          f"fit mode and per-stage timings in the status ({final['timings']})")
    r = final["rating"]
    check(r and 0 <= r["score"] <= 100 and 0 <= r["stars"] <= 5 and r["keypoints"] > 0
          and 0 < r["coverage"] <= 1, f"the status rates trackability ({r})")
    check(final["enhancedPhotoUrl"] and final["featuresUrl"] and final["posterUrl"]
          and final["videoUrl"].endswith("/ar-video.mp4"),
          "status lists enhancedPhotoUrl, featuresUrl, posterUrl and the web video")
    v = final["video"]
    check(v["input"]["videoCodec"] == "h264" and v["output"]["videoCodec"] == "h264"
          and v["output"]["width"] == v["output"]["height"] and v["poster"] == "poster.jpg",
          f"video details in the status; cover crops it to the square photo ({v['output']})")
    check(psql(f"select config->>'filterMinCF' from ar_projects where id = '{ar}'") == "0.001",
          "the config field is stored as JSONB")

    # The viewer page: A-Frame and MindAR from arcd itself, the marker, the video.
    check(final["viewerHtmlUrl"] and final["viewerHtmlUrl"].endswith("/index.html"), "status lists viewerHtmlUrl")
    st, h, page = d.request("GET", f"/objects/ar-storage/{ar}/index.html")
    page = page.decode()
    m = re.search(r'<script src="/vendor/([0-9a-f]{16})/aframe.min.js"></script>', page)
    version = m.group(1) if m else "none"
    check(st == 200 and h["content-type"].startswith("text/html") and m is not None
          and f'<script src="/vendor/{version}/mindar-image-aframe.prod.js"></script>' in page
          and "imageTargetSrc: marker.mind" in page and 'data-src="ar-video.mp4"' in page
          and 'preload="none"' in page and "playsinline" in page and 'crossorigin="anonymous"' in page
          and "{{" not in page,
          "index.html loads the vendored scripts by version, the marker, and the video once AR is ready")
    check("filterMinCF: 0.0001" in page and 'var fitMode = "cover"' in page, "filters and fit mode in the page")
    scripts = {}
    for name in ("aframe.min.js", "mindar-image-aframe.prod.js"):
        st, h, js_body = d.request("GET", f"/vendor/{name}")
        scripts[name] = js_body
        check(st == 200 and h["content-type"].startswith("application/javascript") and len(js_body) > 100000
              and h.get("cache-control") == "public, max-age=300" and "content-encoding" not in h,
              f"/vendor/{name} is served, as it is to a client that takes no compression ({h.get('cache-control')})")
    st, _, _ = d.request("GET", "/vendor/../config/arcd.json")
    check(st == 404, "/vendor/ serves nothing else")

    # Precompressed and versioned: brotli or gzip by Accept-Encoding, with
    # Vary; the versioned URL cached for a year, immutable.
    def unbrotli(data):
        return subprocess.run(["brotli", "-d", "-c"], input=data, capture_output=True, check=True).stdout
    url = f"/vendor/{version}/mindar-image-aframe.prod.js"
    plain = scripts["mindar-image-aframe.prod.js"]
    for ae, want in (("gzip, deflate, br", "br"), ("br;q=0, gzip", "gzip"), ("gzip;q=0.5", "gzip"),
                     ("identity", None), ("*", "br"), ("br;q=0,gzip;q=0", None)):
        st, h, body = d.request("GET", url, headers={"Accept-Encoding": ae})
        got = body if want is None else unbrotli(body) if want == "br" else gzip.decompress(body)
        check(st == 200 and h.get("content-encoding") == want and h.get("vary") == "Accept-Encoding"
              and got == plain and h.get("cache-control") == "public, max-age=31536000, immutable",
              f"Accept-Encoding {ae!r}: {want or 'identity'}, {len(body)} of {len(plain)} bytes, "
              f"Vary and immutable ({h.get('content-encoding')}, {h.get('vary')}, {h.get('cache-control')})")
    st, h, body = d.request("GET", "/vendor/0123456789abcdef/aframe.min.js", headers={"Accept-Encoding": "br"})
    check(st == 200 and h.get("cache-control") == "public, max-age=300" and unbrotli(body) == scripts["aframe.min.js"],
          "another version's URL (a page from before an upgrade) gets today's scripts, for 5 minutes")
    st, hb, mb = d.request("GET", f"/objects/ar-storage/{ar}/marker.mind", headers={"Accept-Encoding": "br, gzip"})
    st2, hp, mp = d.request("GET", f"/objects/ar-storage/{ar}/marker.mind")
    check(st == 200 and hb.get("content-encoding") == "br" and unbrotli(mb) == mp and len(mb) < len(mp) * 0.7
          and hb.get("vary") == "Accept-Encoding" and hp.get("vary") == "Accept-Encoding" and hb["etag"] != hp["etag"],
          f"marker.mind in brotli: {len(mb)} of {len(mp)} bytes, its own ETag")
    st, _, _ = d.request("GET", f"/objects/ar-storage/{ar}/marker.mind",
                         headers={"Accept-Encoding": "br", "If-None-Match": hb["etag"]})
    check(st == 304, "the brotli marker's ETag revalidates")
    st, hg, mg = d.request("GET", f"/objects/ar-storage/{ar}/marker.mind", headers={"Accept-Encoding": "gzip"})
    check(hg.get("content-encoding") == "gzip" and gzip.decompress(mg) == mp, "and in gzip")

    # The same photo again: its marker comes from the cache, the same bytes.
    # Each project's border is its own, so the same photo makes the same print
    # only without one (a retry of one project hits the cache either way).
    check(final["markerCache"] == "miss", "the first compile of a photo misses the cache")
    plain = json.dumps({"border": False})
    st, _, js = d.upload(photo, video, {"config": plain})
    first = d.wait_status(js["arId"])
    st, _, js2 = d.upload(photo, video, {"config": plain})
    again = d.wait_status(js2["arId"])
    st, _, mind2 = d.request("GET", f"/objects/ar-storage/{js2['arId']}/marker.mind")
    st1, _, mind1 = d.request("GET", f"/objects/ar-storage/{js['arId']}/marker.mind")
    check(first["status"] == "ready" and first["photo"]["width"] == 800 and first["photo"]["height"] == 800,
          f"border off: the print is the photo ({first['photo']})")
    check(again["status"] == "ready" and again["markerCache"] == "hit" and mind2 == mind1,
          f"the same photo compiles once: cache hit, same marker ({again['timings']})")

    # The QR code leads to the public view page.
    check(final["qrCodeUrl"] and final["qrCodeUrl"].endswith("/qr-code.png"), "status lists qrCodeUrl")
    st, h, png = d.request("GET", f"/objects/ar-storage/{ar}/qr-code.png")
    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as f:
        f.write(png)
    decoded = subprocess.run(["zbarimg", "--raw", "-q", f.name], capture_output=True, text=True).stdout.strip()
    os.unlink(f.name)
    check(st == 200 and h["content-type"] == "image/png" and decoded == final["viewUrl"],
          f"qr-code.png decodes to the view URL ({decoded})")
    st, h, svg = d.request("GET", f"/objects/ar-storage/{ar}/qr-code.svg")
    check(st == 200 and h["content-type"] == "image/svg+xml" and svg.startswith(b"<svg"), "qr-code.svg is served")

    # The marker is compiled from exactly the printed image: the same bytes
    # as `arcd compile enhanced-photo.jpg`.
    st, h, mind = d.request("GET", f"/objects/ar-storage/{ar}/marker.mind")
    st2, _, printed = d.request("GET", f"/objects/ar-storage/{ar}/enhanced-photo.jpg")
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "print.jpg"), "wb") as f:
            f.write(printed)
        subprocess.run([ARCD, "compile", os.path.join(tmp, "print.jpg"), "-o", os.path.join(tmp, "m.mind"),
                        "--quiet"], check=True, capture_output=True)
        with open(os.path.join(tmp, "m.mind"), "rb") as f:
            check(st == 200 and st2 == 200 and printed[:3] == b"\xff\xd8\xff" and mind == f.read(),
                  "marker.mind is what `arcd compile enhanced-photo.jpg` writes")
    check(h.get("content-type") == "application/octet-stream" and "etag" in h and "last-modified" in h
          and h.get("accept-ranges") == "bytes", "files carry Content-Type, ETag, Last-Modified, Accept-Ranges")
    st, h2, _ = d.request("GET", f"/objects/ar-storage/{ar}/marker.mind", headers={"If-None-Match": h["etag"]})
    check(st == 304, "If-None-Match gives 304")

    # Range requests, as Safari makes them for video.
    st, _, web = d.request("GET", f"/objects/ar-storage/{ar}/ar-video.mp4")
    check(st == 200 and len(web) > 1000, "the web video is served")
    st, h, part = d.request("GET", f"/objects/ar-storage/{ar}/ar-video.mp4", headers={"Range": "bytes=0-1"})
    check(st == 206 and part == web[:2] and h.get("content-range") == f"bytes 0-1/{len(web)}"
          and h.get("content-type") == "video/mp4", "Range bytes=0-1 gives 206 with Content-Range")
    st, h, part = d.request("GET", f"/objects/ar-storage/{ar}/ar-video.mp4", headers={"Range": "bytes=-100"})
    check(st == 206 and part == web[-100:], "suffix range")
    st, h, part = d.request("GET", f"/objects/ar-storage/{ar}/ar-video.mp4", headers={"Range": "bytes=1000-"})
    check(st == 206 and part == web[1000:], "open range")
    st, h, _ = d.request("GET", f"/objects/ar-storage/{ar}/ar-video.mp4", headers={"Range": f"bytes={len(web)}-"})
    check(st == 416 and h.get("content-range") == f"bytes */{len(web)}", "unsatisfiable range gives 416")
    st, h, body = d.request("HEAD", f"/objects/ar-storage/{ar}/ar-video.mp4")
    check(st == 200 and body == b"" and h.get("content-length") == str(len(web)), "HEAD of a file")
    # The uploads themselves carry the customer's camera and location data:
    # never served, though they are on disk.
    for original in ("video.mp4", "photo.jpg"):
        st, _, _ = d.request("GET", f"/objects/ar-storage/{ar}/{original}")
        check(st == 404 and os.path.exists(os.path.join(d.storage, "ar-storage", ar, original)),
              f"the original upload {original} is never served (404)")
    for bad in ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "photo.jpg", "marker.mind/..", "video.mp4%00"):
        st, _, _ = d.request("GET", f"/objects/ar-storage/{ar}/{bad}")
        check(st == 404, f"file name '{bad}' is refused")
    st, _, _ = d.request("GET", "/objects/ar-storage/../../etc/passwd")
    check(st == 404, "no path escapes the storage folder")

    # The view page.
    st, h, _ = d.request("GET", f"/ar/view/{ar}")
    check(st == 302 and h.get("location") == f"/objects/ar-storage/{ar}/index.html", "view redirects when ready")
    st, h, body = d.request("GET", "/ar/view/00000000-0000-0000-0000-000000000000")
    check(st == 404 and b"does not exist" in body and h["content-type"].startswith("text/html"),
          "view of an unknown id: a clear 404 page")
    st, _, body = d.request("GET", "/ar/view/not-an-id")
    check(st == 404, "view of a malformed id: 404")

    # ---- a multi-target project: one .mind, one viewer ----
    card = photo_bytes("card.png")
    st, _, js = d.create([(photo, video), (card, video)], {"fitMode": "contain"})
    check(st == 202 and js["isDemo"] is False and js["expiresAt"] is None and js["targets"] == 2,
          f"create: 202, a lasting project of 2 targets ({st} {js})")
    multi = d.wait_status(js["arId"], timeout=120)
    check(multi["status"] == "ready", f"the multi-target project ends ready ({multi.get('errorMessage')})")
    check(psql(f"select count(*) from ar_project_items where project_id = '{js['arId']}'") == "2",
          "its pairs are rows of ar_project_items")
    sizes = psql(f"select string_agg(photo_width || 'x' || photo_height || ':' || (video_meta->'output'->>'file'), ' '"
                 f" order by position) from ar_project_items where project_id = '{js['arId']}'")
    check(sizes == "992x992:ar-video.mp4 534x836:ar-video-1.mp4", f"the items record their print and video; card.png is turned upright by its eXIf orientation 6 ({sizes})")
    st, _, mind = d.request("GET", f"/objects/ar-storage/{js['arId']}/marker.mind")
    with tempfile.NamedTemporaryFile(suffix=".mind", delete=False) as f:
        f.write(mind)
    info = json.loads(subprocess.run([ARCD, "inspect", f.name, "--json"], capture_output=True, text=True,
                                     check=True).stdout)
    os.unlink(f.name)
    check(len(info["targets"]) == 2, "one .mind with one target per photo")
    st, _, page = d.request("GET", f"/objects/ar-storage/{js['arId']}/index.html")
    page = page.decode()
    check('targetIndex: 0' in page and 'targetIndex: 1' in page and 'src="ar-video.mp4"' in page
          and 'src="ar-video-1.mp4"' in page, "one viewer with one entity and video per target")
    check(len(multi.get("targets") or []) == 2 and all(t["rating"]["stars"] >= 0 for t in multi["targets"]),
          "the status rates each target")
    for name in ("enhanced-photo-1.jpg", "ar-video-1.mp4", "poster-1.jpg", "features-1.png"):
        st, _, _ = d.request("HEAD", f"/objects/ar-storage/{js['arId']}/{name}")
        check(st == 200, f"{name} is served")
    st, _, js = d.create([(photo, None), (card, None)] + [(card, None)] * 7)
    check(st == 400 and js["code"] == "too_many_targets", f"over 8 targets: 400 ({js})")
    st, _, js = d.create([])
    check(st == 400 and js["code"] == "missing_photo", "create without a photo: 400")

    # ---- long poll and events while a job runs ----
    big = photo_bytes("bear.png")
    st, _, js = d.upload(big, video)
    ar2 = js["arId"]
    t0 = time.time()
    st, _, first = d.json("GET", f"/api/ar/status/{ar2}")
    changes = [first["status"] + "/" + first["stage"]]
    while changes[-1] != "ready/done" and time.time() - t0 < 60:
        st, _, js = d.json("GET", f"/api/ar/status/{ar2}?wait=20")
        changes.append(js["status"] + "/" + js["stage"])
    check(changes[-1] == "ready/done", f"long poll follows the job to ready: {' -> '.join(changes)}")
    check(len(changes) >= 2 and len(changes) == len(set(changes)), "each long poll returned on a change")

    t0 = time.time()
    st, _, js = d.json("GET", f"/api/ar/status/{ar}?wait=1.5")
    check(st == 200 and js["status"] == "ready" and time.time() - t0 < 1.0, "long poll on a finished job answers at once")

    st, _, js = d.upload(photo, video)
    ar3 = js["arId"]
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)
    c.request("GET", f"/api/ar/events/{ar3}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    r = c.getresponse()
    events = []
    check(r.status == 200 and r.getheader("Content-Type") == "text/event-stream", "events: text/event-stream")
    for line in r:
        line = line.decode().strip()
        if line.startswith("data: "):
            events.append(json.loads(line[6:]))
    c.close()
    check(events and events[-1]["status"] == "ready", f"the event stream ends with ready ({len(events)} events)")
    check(all(e["arId"] == ar3 for e in events), "events carry the project's status")

    # Plain status reads come from a cache that NOTIFY keeps exact: repeated
    # reads of a finished project are hits, and while a job runs, plain
    # polling sees "ready" as soon as a long poll does.
    hits0 = d.metric("arcd_status_cache_hits_total")
    for _ in range(50):
        d.json("GET", f"/api/ar/status/{ar}")
    check(d.metric("arcd_status_cache_hits_total") - hits0 >= 40, "repeated status reads hit the cache")
    st, _, js = d.upload(big, video)
    ar5, seen = js["arId"], {}

    def poll_plain():
        while time.time() - t_start < 60:
            if d.json("GET", f"/api/ar/status/{ar5}")[2]["status"] == "ready":
                seen["plain"] = time.time()
                return
            time.sleep(0.02)

    def poll_long():
        while time.time() - t_start < 60:
            if d.json("GET", f"/api/ar/status/{ar5}?wait=10")[2]["status"] == "ready":
                seen["long"] = time.time()
                return

    t_start = time.time()
    ts = [threading.Thread(target=poll_plain), threading.Thread(target=poll_long)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check("plain" in seen and "long" in seen and seen["plain"] - seen["long"] < 1.0,
          f"cached reads are never stale: plain polling saw ready {seen.get('plain', 0) - seen.get('long', 0):+.2f} s after the long poll")

    # A long poll with no change answers after its wait.
    st, _, js = d.upload(big, video)
    ar4 = js["arId"]
    # ---- bad requests ----
    def err(st, js, want, code, what):
        check(st == want and isinstance(js, dict) and js.get("code") == code and js.get("error"),
              f"{what}: {want} {code} ({st} {js})")

    st, _, js = d.json("GET", "/api/nothing")
    err(st, js, 404, "not_found", "unknown route")
    st, h, js = d.json("DELETE", f"/api/ar/status/{ar}")
    err(st, js, 405, "method_not_allowed", "wrong method")
    check("GET" in h.get("allow", ""), "405 says what is allowed")
    st, _, js = d.json("GET", "/api/ar/status/123")
    err(st, js, 404, "not_found", "malformed id")
    st, _, js = d.json("GET", "/api/ar/status/00000000-0000-0000-0000-000000000000")
    err(st, js, 404, "not_found", "unknown id")
    st, _, js = d.json("GET", f"/api/ar/status/{ar}?wait=abc")
    err(st, js, 400, "bad_wait", "bad wait")
    st, _, js = d.json("POST", "/api/ar/create-demo", body=b"{}", headers={"Content-Type": "application/json"})
    err(st, js, 415, "unsupported_media_type", "JSON instead of a form")
    st, _, js = d.upload(None, video)
    err(st, js, 400, "missing_photo", "no photo")
    st, _, js = d.upload(photo, None)
    err(st, js, 400, "missing_video", "no video")
    st, _, js = d.upload(b"this is not an image at all", video)
    err(st, js, 415, "unsupported_photo", "a text file as photo")
    st, _, js = d.upload(photo, photo)
    err(st, js, 415, "unsupported_video", "a JPEG as video")
    st, _, js = d.upload(photo, video, {"fitMode": "stretch"})
    err(st, js, 400, "bad_field", "bad fitMode")
    st, _, js = d.upload(photo, video, {"fitMode": "exact", "scaleWidth": 100})
    err(st, js, 400, "bad_field", "exact without scaleHeight")
    st, _, js = d.upload(photo, video, {"scaleWidth": "-3"})
    err(st, js, 400, "bad_field", "negative scaleWidth")
    st, _, js = d.upload(photo, video, {"config": "[1,2]"})
    err(st, js, 400, "bad_field", "config that is not an object")
    st, _, js = d.upload(photo, video, {"colour": "red"})
    err(st, js, 400, "unknown_field", "unknown field")
    st, _, js = d.upload(b"\xff\xd8\xff\xe0" + os.urandom(3_100_000), video)
    err(st, js, 413, "file_too_large", "photo over photoBytes")
    st, _, js = d.upload(photo, fake_mp4(400_000))
    err(st, js, 413, "file_too_large", "video over videoBytes")
    st, _, js = d.json("POST", "/api/ar/create-demo", body=b"x" * 4_000_000,
                       headers={"Content-Type": "multipart/form-data; boundary=abc"})
    err(st, js, 413, "payload_too_large", "body over uploadBytes (Content-Length)")
    st, _, js = d.json("POST", "/api/ar/create-demo", body=b"--abc\r\nnot a header\r\n\r\nx\r\n--abc--\r\n",
                       headers={"Content-Type": "multipart/form-data; boundary=abc"})
    err(st, js, 400, "bad_multipart", "malformed multipart")
    st, _, js = d.json("POST", "/api/ar/create-demo", body=b"--abc\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\nxx",
                       headers={"Content-Type": "multipart/form-data; boundary=abc"})
    check(st in (400, 415), f"truncated multipart is refused ({st} {js})")
    st, _, js = d.json("GET", "/healthz", headers={"X-Big": "y" * 5000})
    check(st == 431 and js.get("code") == "header_too_large", f"a head over maxHeaderBytes gets 431 ({st})")

    # Raw protocol errors.
    # Clients that leave in the middle of a download (a reset while the
    # daemon is still writing): the daemon must survive them all.
    import struct as _struct
    for _ in range(30):
        s = socket.create_connection(("127.0.0.1", d.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(f"GET /objects/ar-storage/{ar}/marker.mind HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        s.recv(1024)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _struct.pack("ii", 1, 0))
        s.close()
    time.sleep(0.5)
    st, _, _ = d.request("GET", "/healthz")
    check(st == 200 and d.proc.poll() is None, "30 clients reset mid-download: the daemon is fine")

    # Found by fuzz_http: a path that is not UTF-8, quoted in the error
    # message, made the JSON encoder fail and the daemon crash.
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(b"GET /api/ar/status/ab\xcf?wait=5 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
              + ADMIN_TOKEN.encode() + b"\r\nConnection: close\r\n\r\n")
    resp = s.recv(4096)
    s.close()
    check(resp.startswith(b"HTTP/1.1 404") and b"ab?" in resp, f"a path that is not UTF-8: a JSON 404 ({resp[:60]})")
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
    resp = s.recv(4096).decode(errors="replace")
    s.close()
    check(resp.startswith("HTTP/1.1 400") and '"code":"bad_request"' in resp, "garbage gets a JSON 400")

    # A client that never finishes its request head is cut off with 408.
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(10)
    t0 = time.time()
    resp = s.recv(4096).decode(errors="replace")
    s.close()
    check(resp.startswith("HTTP/1.1 408") and 0.5 <= time.time() - t0 < 5,
          f"an unfinished head gets 408 after headerTimeoutMs ({time.time() - t0:.1f} s)")

    # Keep-alive: several requests on one connection.
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    ok = True
    for _ in range(5):
        c.request("GET", "/healthz")
        r = c.getresponse()
        ok = ok and r.status == 200 and r.getheader("Connection") == "keep-alive"
        r.read()
    c.close()
    check(ok, "keep-alive: five requests on one connection")

    # A client that disconnects halfway through an upload leaves nothing behind.
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(b"POST /api/ar/create-demo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_TOKEN.encode() + b"\r\nContent-Type: multipart/form-data; boundary=q\r\n"
              b"Content-Length: 100000\r\n\r\n--q\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\n" + photo[:5000])
    time.sleep(0.3)
    s.close()
    time.sleep(0.5)
    check(d.tmp_files() == [], f"no temporary files left behind ({d.tmp_files()})")

    final = d.wait_status(ar4)
    check(final["status"] == "ready", "the last demo ends ready too")

    # Health, readiness, metrics.
    st, _, js = d.json("GET", "/readyz")
    check(st == 200 and js["ready"] and js["database"], "readyz: database reachable, workers up")
    st, _, _ = d.request("GET", "/metrics")
    check(st == 401, f"/metrics needs a token ({st})")
    _, h, text = d.request("GET", "/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    t = text.decode()
    for name in ("arcd_http_requests_total{route=\"status\"}", "arcd_http_request_duration_ms_bucket",
                 "arcd_jobs{state=\"ready\"}", "arcd_compile_duration_ms_count", "arcd_db_pool_size 4",
                 "arcd_db_pool_in_use", "arcd_db_pool_waiting", "arcd_workers{state=\"idle\"}",
                 "arcd_worker_restarts_total"):
        check(name in t, f"metrics have {name}")

    slow.join()
    check(slow_result.get("resp", "").startswith("HTTP/1.1 408") and 9 < slow_result["secs"] < 20,
          f"a body arriving at 1 byte/s is cut off with 408 after the 10 s grace "
          f"({slow_result.get('secs', 0):.1f} s)")

    # Photos as phones make them: HEIC (iPhones), AVIF and WebP are taken,
    # stored under their own extension and decoded by a sandboxed worker.
    # (They were refused with 415.) A HEIC sent as the video is refused.
    tmp = tempfile.mkdtemp()
    src = os.path.join(DATA, "pictarize.jpg")
    made = {"heic": ["heif-enc", "-q", "60", src, "-o"], "avif": ["heif-enc", "-A", "-q", "50", src, "-o"],
            "webp": ["cwebp", "-quiet", "-q", "70", src, "-o"]}
    for ext, cmd in made.items():
        out = os.path.join(tmp, "p." + ext)
        subprocess.run(cmd + [out], check=True, capture_output=True, timeout=120)
        with open(out, "rb") as f:
            data = f.read()
        st, _, js = d.upload(data, video, photo_name="IMG_0001." + ext.upper())
        final = d.wait_status(js["arId"], timeout=90) if st == 202 else {}
        stored = os.path.exists(os.path.join(d.storage, "ar-storage", js.get("arId", "-"), "photo." + ext))
        check(st == 202 and final.get("status") == "ready" and stored,
              f"a {ext.upper()} photo: 202, stored as photo.{ext}, ready ({st} {final.get('status')} "
              f"{final.get('errorMessage')} {final.get('photo')})")
        if ext == "heic":
            st, _, js = d.upload(photo, data, video_name="clip.mov")
            err(st, js, 415, "unsupported_video", "a HEIC photo as the video")

    # A second daemon on a taken port stops at once, saying why.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"server": {"listen": f"127.0.0.1:{d.port}"}, "storage": {"dir": d.storage},
                   "viewer": {"template": os.path.join(DATA, "..", "..", "config", "viewer.html")}}, f)
    r = subprocess.run([ARCD, "serve", "--config", f.name], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "cannot listen" in r.stderr, f"a taken port: exit 2 ({r.stderr.strip()})")
    os.unlink(f.name)

    # Scripts replaced under a running daemon: their version's URL is no
    # longer sent as immutable (a phone would keep the new bytes a year
    # under the old version). The version covers the compressed forms too.
    vend = tempfile.mkdtemp(prefix="arcd-vendor-")
    for name in os.listdir(os.path.join(DATA, "..", "..", "var", "vendor")):
        with open(os.path.join(DATA, "..", "..", "var", "vendor", name), "rb") as a, \
                open(os.path.join(vend, name), "wb") as b:
            b.write(a.read())
        os.utime(os.path.join(vend, name), (time.time() - 60, time.time() - 60))
    sha = hashlib.sha256()
    for name in ("aframe.min.js", "mindar-image-aframe.prod.js"):
        for form in ("", ".br", ".gz"):
            if os.path.exists(os.path.join(vend, name + form)):
                sha.update(form.encode() + b"\0")
                with open(os.path.join(vend, name + form), "rb") as f:
                    sha.update(f.read())
    ver = sha.hexdigest()[:16]
    d2 = Daemon(viewer={"vendorDir": vend})
    try:
        st, h, _ = d2.request("GET", f"/vendor/{ver}/aframe.min.js", headers={"Accept-Encoding": "br"})
        check(st == 200 and "immutable" in h.get("cache-control", ""),
              f"the scripts' version covers their brotli and gzip forms ({ver}: {h.get('cache-control')})")
        os.utime(os.path.join(vend, "aframe.min.js.br"))  # replaced now, after the daemon took the version
        st, h, _ = d2.request("GET", f"/vendor/{ver}/aframe.min.js", headers={"Accept-Encoding": "br"})
        check(st == 200 and h.get("cache-control") == "public, max-age=300",
              f"a script changed after start-up is not sent as immutable ({h.get('cache-control')})")
    finally:
        d2.cleanup()
        subprocess.run(["rm", "-rf", vend])

    # Graceful shutdown.
    code = d.stop()
    check(code == 0, f"SIGTERM: clean exit ({code})")
    check('"msg":"stopped"' in d.logs(), "the daemon says it stopped")
finally:
    d.cleanup()
finish()
