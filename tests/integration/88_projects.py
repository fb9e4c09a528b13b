"""The back office's project routes against a real daemon and PostgreSQL:
project fields on create (and the old frontend's field names), the list
(filters, search, keyset pages stable under inserts), GET/PATCH of one
project, a new video that leaves the marker, print and QR code byte for byte
(and plays in the viewer), a re-run, deletion (410 page, 404 files and
status, a tombstone), an expired demo's tombstone, and CORS. Every route
with its owner, admin and other-owner cases and its bad inputs.
usage (inside pg_virtualenv): 88_projects.py ARCD MKIMAGE"""
import hashlib
import json
import os
import subprocess
import tempfile
import time
import urllib.parse

from harness import ADMIN_TOKEN, ROOT, Daemon, check, fake_mp4, finish, photo_bytes, psql, sample_mp4

A, B = "shop-a-token-0123456789", "shop-b-token-0123456789"
ORIGIN = "https://crm.example.com"
d = Daemon(auth={"tokens": [{"token": A, "owner": "shop-a"}, {"token": B, "owner": "shop-b"}]},
           server={"corsOrigins": [ORIGIN]}, demo={"maxExpiryDays": 30, "sweepSeconds": 1},
           limits={"uploadsPerMinute": 1000})


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def other_clip():
    """A 2 s 320x240 H.264 clip, unlike sample.mp4 (360x240)."""
    out = os.path.join(tempfile.mkdtemp(), "other.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart",
                    out], check=True, timeout=60)
    with open(out, "rb") as f:
        return f.read()


def get_list(query="", token=ADMIN_TOKEN):
    return d.json("GET", "/api/ar/projects" + (("?" + query) if query else ""), token=token)


def patch(ar, body, token=ADMIN_TOKEN, ctype="application/json"):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return d.json("PATCH", f"/api/ar/projects/{ar}", body=raw, token=token, headers={"Content-Type": ctype})


def form(path, fields, files, token=ADMIN_TOKEN):
    return d.post_form(path, fields, files, token)


try:
    photo, video = photo_bytes("pictarize.jpg"), sample_mp4()

    # ---- 1. project fields on create, the old frontend's names ----
    meta = {"order": {"lines": 2}, "note": "gift"}
    st, _, js = form("/api/ar/create-demo",
                     {"title": "Wedding — Анна", "orderRef": "ORD-1001", "customerName": "Anna K.",
                      "customerEmail": "anna@example.com", "notifyUrl": "https://hooks.example.com/arcd",
                      "notifyEmail": "anna@example.com", "metadata": json.dumps(meta), "useSmartCrop": "true",
                      "printSize": "a5", "printPhotoMm": "100", "printLanguage": "en"},
                     [("photoFile", "p.jpg", "image/jpeg", photo), ("videoFile", "v.mp4", "video/mp4", video)],
                     token=A)
    check(st == 202, f"create-demo takes the fields and photoFile/videoFile ({st} {js})")
    demo = js["arId"]
    st, _, js = d.json("GET", f"/api/ar/projects/{demo}", token=A)
    check(st == 200 and js["title"] == "Wedding — Анна" and js["orderRef"] == "ORD-1001"
          and js["customerName"] == "Anna K." and js["customerEmail"] == "anna@example.com"
          and js["notifyUrl"] == "https://hooks.example.com/arcd" and js["notifyEmail"] == "anna@example.com"
          and js["metadata"] == meta, f"GET /api/ar/projects/:id has every field ({js})")
    check(psql(f"select config->>'useSmartCrop' from ar_projects where id = '{demo}'") == "true",
          "useSmartCrop is kept in the project's config")
    check(psql(f"select photo_file || ' ' || video_file from ar_project_items where project_id = '{demo}'")
          == "photo.jpg video.mp4", "a demo's pair is an item row too")
    st, _, js = d.create([(photo, video)], {"orderRef": "ORD-2002", "customerName": "Boris"}, token=B)
    check(st == 202, "create takes the fields")
    lasting = js["arId"]

    bad_fields = [
        ({"orderRef": "x" * 65}, "orderRef"), ({"customerEmail": "not-an-address"}, "customerEmail"),
        ({"notifyEmail": "a@b"}, "notifyEmail"), ({"notifyUrl": "ftp://example.com/x"}, "notifyUrl"),
        ({"notifyUrl": "javascript:alert(1)"}, "notifyUrl"), ({"metadata": "[1, 2]"}, "metadata"),
        ({"metadata": json.dumps({"k": "v" * 4100})}, "metadata"), ({"metadata": "{bad"}, "metadata"),
        ({"title": "bell\x07"}, "title"), ({"title": "t" * 201}, "title"),
        ({"useSmartCrop": "maybe"}, "useSmartCrop"), ({"colour": "red"}, "colour"),
        ({"printSize": "A3"}, "printSize"), ({"printSize": ""}, "printSize"),
        ({"printPhotoMm": "10"}, "printPhotoMm"), ({"printPhotoMm": "wide"}, "printPhotoMm"),
        ({"printPhotoMm": "nan"}, "printPhotoMm"), ({"printLanguage": "de"}, "printLanguage"),
        ({"config": json.dumps({"printSize": "Letter"})}, "printSize"),
        ({"config": json.dumps({"printPhotoMm": "100"})}, "printPhotoMm"),
    ]
    tiny_png, tiny_mp4 = b"\x89PNG\r\n\x1a\n" + bytes(200), fake_mp4(2000)  # refused before they matter
    for fields, name in bad_fields:
        st, _, js = form("/api/ar/create-demo", fields,
                         [("photo", "p.png", "image/png", tiny_png), ("video", "v.mp4", "video/mp4", tiny_mp4)])
        check(st == 400 and name in js.get("error", ""), f"create-demo refuses bad {name}: 400 ({st} {js})")
    st, _, js = d.post_form("/api/ar/create-demo", None,
                            [("photo", "p", "image/jpeg", photo), ("video", "v", "video/mp4", video)])
    check(st == 202, "fields are optional")
    plain = js["arId"]
    time.sleep(0.3)
    check(d.tmp_files() == [], "refused uploads leave no temporary file")

    for ar in (demo, lasting, plain):
        check(d.wait_status(ar, timeout=90)["status"] == "ready", f"project {ar[:8]} ready")

    # ---- 1b. the print sheet: the project's paper and size, else the shop's ----
    check(psql(f"select config->>'printSize' || ' ' || (config->>'printPhotoMm') || ' ' || "
               f"(config->>'printLanguage') from ar_projects where id = '{demo}'") == "a5 100.0 en",
          "printSize, printPhotoMm and printLanguage are kept in the project's config")
    tmpdir = tempfile.mkdtemp()
    for ar, paper, pts in ((demo, "A5", "419.528 x 595.276"), (plain, "A4", "595.276 x 841.89")):
        stj = d.wait_status(ar, timeout=5)
        url = stj.get("printSheetUrl") or ""
        st, h, pdf = d.request("GET", urllib.parse.urlparse(url).path) if url else (0, {}, b"")
        check(url.endswith(f"/objects/ar-storage/{ar}/print-sheet.pdf") and st == 200
              and h.get("content-type") == "application/pdf" and pdf[:5] == b"%PDF-",
              f"{paper}: printSheetUrl serves the PDF ({url} {st} {h.get('content-type')})")
        path = os.path.join(tmpdir, f"{ar}.pdf")
        with open(path, "wb") as f:
            f.write(pdf)
        info = subprocess.run(["pdfinfo", path], capture_output=True, text=True).stdout
        sheet = (stj.get("photo") or {}).get("printSheet") or {}
        check(f"Page size:       {pts} pts" in info and sheet.get("paper") == paper,
              f"{paper}: the sheet's page is {paper} ({sheet.get('paper')}, "
              f"{[l for l in info.splitlines() if 'size' in l]})")
        text = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True).stdout
        want = "Scan to bring" if ar == demo else "Отсканируйте"
        check(want in text, f"{paper}: the caption in the project's language, else the shop's ({text.split()})")
    page = (((d.wait_status(demo, timeout=5).get("photo") or {}).get("printSheet") or {}).get("pages") or [{}])[0]
    check(abs(max(page.get("photoMm", {}).get("width", 0), page.get("photoMm", {}).get("height", 0)) - 100) < 0.01,
          f"printPhotoMm 100: the photo's long side is 100 mm ({page.get('photoMm')})")

    # ---- 2. GET one project: owner, admin, other owner ----
    check(d.json("GET", f"/api/ar/projects/{demo}", token=B)[0] == 404, "another owner's project: 404")
    check(d.json("GET", f"/api/ar/projects/{demo}")[0] == 200, "the admin sees any project")
    check(d.json("GET", "/api/ar/projects/not-an-id")[0] == 404, "a malformed id: 404")
    check(d.json("GET", "/api/ar/projects", token=None)[0] == 401, "the list needs a token")

    # ---- 3. the list ----
    st, _, js = get_list()
    ids = [it["arId"] for it in js["items"]]
    check(st == 200 and ids[:3] == [plain, lasting, demo] and js["nextCursor"] is None,
          f"the list: newest first, no next page ({ids})")
    it = js["items"][2]
    check(set(it) >= {"arId", "status", "title", "orderRef", "customerName", "isDemo", "createdAt", "expiresAt",
                      "stars", "viewUrl", "thumbnailUrl"} and it["status"] == "ready" and it["isDemo"] is True
          and it["title"] == "Wedding — Анна" and it["expiresAt"] and 0 <= it["stars"] <= 5
          and it["viewUrl"].endswith(f"/ar/view/{demo}"), f"an item's fields ({it})")
    st, h, thumb = d.request("GET", urllib.parse.urlparse(it["thumbnailUrl"]).path)
    check(st == 200 and h["content-type"].startswith("image/jpeg") and thumb[:2] == b"\xff\xd8",
          f"its thumbnail is a JPEG ({st} {h.get('content-type')})")
    st, _, js = get_list(token=A)
    check([i["arId"] for i in js["items"]] == [demo], "an owner lists only its own projects")
    st, _, js = get_list(token=B)
    check([i["arId"] for i in js["items"]] == [lasting], "so does the other")

    # Many more rows, straight into the table (the list's own job is reading them).
    # (run_after 'infinity': no worker takes these rows, which have no files.)
    psql("insert into ar_projects (id, owner, status, is_demo, expires_at, title, order_ref, customer_name, created_at,"
         " run_after)"
         " select gen_random_uuid(), case when g % 2 = 0 then 'shop-a' else 'shop-b' end,"
         " (array['pending','ready','error'])[1 + g % 3], g % 5 = 0,"
         " case when g % 5 = 0 then now() + interval '1 day' end,"
         " 'Photo ' || g, 'BULK-' || g, case when g = 7 then 'Ivan 100%_sure' else 'Customer ' || g end,"
         " now() - make_interval(mins => g), 'infinity' from generate_series(1, 120) g")
    psql("insert into ar_projects (id, owner, is_demo, expires_at, title, created_at, run_after)"
         " values (gen_random_uuid(), 'shop-a', true, now() - interval '1 hour', 'Expired one', now(), 'infinity')")
    seen, cursor, pages = [], None, 0
    while True:
        st, _, js = get_list("limit=25" + (f"&cursor={cursor}" if cursor else ""))
        check(st == 200, f"page {pages + 1}: 200")
        seen += [i["arId"] for i in js["items"]]
        pages += 1
        if pages == 2:  # new projects arriving meanwhile do not shift the pages
            psql("insert into ar_projects (id, owner, title, run_after) select gen_random_uuid(), 'shop-a',"
                 " 'late ' || g, 'infinity' from generate_series(1, 10) g")
        cursor = js["nextCursor"]
        if cursor is None:
            break
    check(len(seen) == 123 and len(set(seen)) == 123 and pages == 5,
          f"keyset pages: every project once, none skipped, none twice, inserts ignored ({len(seen)} in {pages})")
    check("Expired one" not in json.dumps(get_list("limit=100")[2]), "an expired demo is not listed")
    st, _, js = get_list("status=error&limit=100")
    check(st == 200 and len(js["items"]) == 40 and all(i["status"] == "error" for i in js["items"]),
          f"status filter ({len(js['items'])})")
    st, _, js = get_list("isDemo=true&limit=100")
    check(all(i["isDemo"] for i in js["items"]) and len(js["items"]) == 24 + 2,
          f"isDemo filter ({len(js['items'])})")
    st, _, js = get_list("orderRef=BULK-42")
    check([i["orderRef"] for i in js["items"]] == ["BULK-42"], "orderRef: the exact order")
    st, _, js = get_list("q=" + urllib.parse.quote("ord-100"))
    check([i["arId"] for i in js["items"]] == [demo], "q finds the order number, case-insensitively")
    st, _, js = get_list("q=" + urllib.parse.quote("Анна"))
    check([i["arId"] for i in js["items"]] == [demo], "q finds Cyrillic in the title")
    st, _, js = get_list("q=boris")
    check([i["arId"] for i in js["items"]] == [lasting], "q finds the customer")
    st, _, js = get_list("q=" + urllib.parse.quote("100%_s"))
    check([i["customerName"] for i in js["items"]] == ["Ivan 100%_sure"], "% and _ in q are plain characters")
    st, _, js = get_list("q=" + urllib.parse.quote("photo 11") + "&status=ready&limit=100", token=A)
    check(st == 200 and {i["title"] for i in js["items"]} == {"Photo 112", "Photo 118"}, f"filters combine ({js['items']})")
    cut = psql("select to_char((now() - interval '30 minutes 30 seconds') at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    st, _, js = get_list(f"createdBefore={cut}&createdAfter=2020-01-01&limit=100")
    check(st == 200 and len(js["items"]) == 90 and all(i["createdAt"] < cut for i in js["items"]),
          f"createdBefore/createdAfter ({len(js['items'])})")
    for q, why in [("status=done", "status"), ("isDemo=yes", "isDemo"), ("limit=0", "limit"), ("limit=101", "limit"),
                   ("limit=ten", "limit"), ("cursor=bm90LWEtY3Vyc29y", "cursor"), ("cursor=%25%25", "cursor"),
                   ("createdAfter=yesterday", "createdAfter"), ("createdBefore=2026-02-30", "createdBefore"),
                   ("q=" + "x" * 201, "q"), ("orderRef=" + "x" * 65, "orderRef"), ("page=2", "page"),
                   ("q=%ZZ", "q")]:
        st, _, js = get_list(q)
        check(st == 400 and js["code"] == "bad_parameter" and why in js["error"], f"list: bad {q[:24]}: 400 ({js})")

    # ---- 4. PATCH ----
    st, _, js = patch(demo, {"title": "New title", "orderRef": "ORD-1001-B", "metadata": {"paid": True},
                             "customerName": ""})
    check(st == 200 and js["title"] == "New title" and js["orderRef"] == "ORD-1001-B"
          and js["metadata"] == {"paid": True} and js["customerName"] is None,
          f"PATCH changes fields; \"\" clears one ({js})")
    st, _, js = d.json("GET", f"/api/ar/status/{demo}", token=A)
    check(js["title"] == "New title", "the status route sees the change at once")
    check(patch(demo, {"title": "x"}, token=B)[0] == 404, "PATCH of another owner's project: 404")
    for body, code, why in [({"colour": "red"}, 400, "unknown field"), ({"isDemo": True}, 400, "isDemo"),
                            ({"metadata": [1]}, 400, "metadata"), ({"title": 5}, 400, "title"),
                            ({"customerEmail": "x"}, 400, "customerEmail"), ("[1]", 400, "JSON object"),
                            ("{bad", 400, "JSON object"), ({"expiresAt": "soon"}, 400, "expiresAt"),
                            ({"expiresAt": "2020-01-01T00:00:00Z"}, 400, "future"),
                            ({"expiresAt": "2099-01-01T00:00:00Z"}, 400, "30 days"),
                            ({"isDemo": False, "expiresAt": "2099-01-01T00:00:00Z"}, 400, "expiresAt")]:
        st, _, js = patch(demo, body)
        check(st == code and why in js.get("error", ""), f"PATCH {str(body)[:40]}: {code} ({st} {js})")
    check(patch(demo, {"title": "x"}, ctype="text/plain")[0] == 415, "PATCH of text/plain: 415")
    check(patch(demo, {"title": "x"}, ctype="application/jsonx")[0] == 415
          and patch(demo, {"title": "x"}, ctype="application/json-patch+json")[0] == 415,
          "PATCH of application/jsonx or application/json-patch+json: 415 (they were taken as JSON)")
    check(patch(demo, {"title": "New title"}, ctype="Application/JSON; charset=utf-8")[0] == 200,
          "PATCH of Application/JSON; charset=utf-8: taken")
    check(patch(demo, json.dumps({"title": "x" * 20000}))[0] == 413, "PATCH over 16 KB: 413")
    later = psql("select to_char((now() + interval '10 days') at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    st, _, js = patch(demo, {"expiresAt": later})
    check(st == 200 and js["expiresAt"] == later and js["isDemo"], f"expiresAt extends a demo ({js.get('expiresAt')})")
    st, _, js = patch(lasting, {"expiresAt": later}, token=B)
    check(st == 409 and js["code"] == "not_a_demo", f"expiresAt on a permanent project: 409 ({js})")
    folder = os.path.join(d.storage, "ar-storage", demo)
    kept = {f: sha(os.path.join(folder, f)) for f in ("marker.mind", "enhanced-photo.jpg", "qr-code.png", "qr-code.svg")}
    st, _, js = patch(demo, {"isDemo": False}, token=A)
    check(st == 200 and js["isDemo"] is False and js["expiresAt"] is None and js["arId"] == demo,
          f"isDemo false: a permanent project, same id ({js.get('isDemo')}, {js.get('expiresAt')})")
    check(psql(f"select is_demo::text || coalesce(expires_at::text, '-') from ar_projects where id = '{demo}'")
          == "false-", "in the database too")

    # ---- 5. a new video ----
    clip = other_clip()
    vpath = f"/api/ar/projects/{demo}/video"
    st, _, js = form(vpath, {}, [("video", "v.mp4", "video/mp4", clip)], token=B)
    check(st == 404, f"a new video for another owner's project: 404 ({st})")
    st, _, js = form(vpath, {}, [("photo", "p.jpg", "image/jpeg", photo)])
    check(st == 400 and "photo" in js["error"], f"a new video's form takes no photo: 400 ({js})")
    st, _, js = form(vpath, {"fitMode": "cover"}, [])
    check(st == 400 and js["code"] == "missing_video", "no video part: 400")
    st, _, js = form(vpath, {"target": "1"}, [("video", "v.mp4", "video/mp4", clip)])
    check(st == 400 and "target" in js["error"], f"target beyond the pairs: 400 ({js})")
    st, _, js = form(vpath, {}, [("video", "v.mp4", "video/mp4", b"GIF89a" + b"\0" * 100)])
    check(st == 415, "not a video: 415")
    st, _, js = form(f"/api/ar/projects/{demo}/video", {"fitMode": "contain"},
                     [("videoFile", "new.mp4", "video/mp4", clip)], token=A)
    check(st == 202 and js["jobKind"] == "video" and js["target"] == 0, f"a new video: 202, a video job ({js})")
    st2, _, js2 = form(vpath, {}, [("video", "v.mp4", "video/mp4", clip)])
    check(st2 == 409 and js2["code"] == "busy", f"another while it runs: 409 ({st2} {js2})")
    final = d.wait_status(demo, timeout=90)
    check(final["status"] == "ready", f"the video job ends ready ({final.get('errorMessage')})")
    check(set(final["timings"]) == {"video", "viewer"}, f"only the video and viewer stages ran ({final['timings']})")
    check({f: sha(os.path.join(folder, f)) for f in kept} == kept,
          "marker.mind, enhanced-photo.jpg and the QR code are byte for byte the same")
    newvid = urllib.parse.urlparse(final["videoUrl"]).path.rsplit("/", 1)[1]
    check(newvid != "ar-video.mp4" and newvid.startswith("ar-video") and final["video"]["output"]["width"] == 320,
          f"the status names the new web video ({newvid}, {final['video']})")
    st, h, _ = d.request("GET", urllib.parse.urlparse(final["videoUrl"]).path)
    st2, h2, _ = d.request("GET", urllib.parse.urlparse(final["posterUrl"] or "/none").path)
    check(st == 200 and h["content-type"] == "video/mp4" and st2 == 200 and h2["content-type"] == "image/jpeg",
          f"the new video and its poster are served ({st} {st2} {final['posterUrl']})")
    check(d.request("GET", f"/objects/ar-storage/{demo}/ar-video.mp4")[0] == 404
          and not os.path.exists(os.path.join(folder, "video.mp4")),
          "the old web video and the old upload are gone")
    with open(os.path.join(folder, "index.html")) as f:
        check(newvid in f.read(), "the viewer page plays the new video")
    env = dict(os.environ, ARCD_NODE=os.path.join(ROOT, "var", "node"))
    out = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "viewer_check.mjs"),
                          f"http://127.0.0.1:{d.port}/ar/view/{demo}", "45"], capture_output=True, text=True,
                         env=env, timeout=120, cwd=os.path.join(ROOT, "var", "node"))
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    r = json.loads(line)
    vids = r.get("videos") or [{}]
    check(r.get("arReady") is True and vids[0].get("src") == newvid and vids[0].get("videoWidth") == 320
          and vids[0].get("readyState", 0) >= 1, f"in Chromium the viewer loads the new video ({line[:300]})")
    st, _, js = d.json("GET", f"/api/ar/projects/{demo}")
    check(js["rating"] and js["photo"]["width"] == 992, "the rating and the print size stay")

    # ---- 6. re-run ----
    check(d.json("POST", f"/api/ar/projects/{lasting}/rerun", token=A)[0] == 404, "re-run of another's: 404")
    # A print option the upload would refuse, written into the config by
    # other hands: the queue uses the shop's default and says so (it took
    # the 10 mm, and the sheet failed).
    psql(f"update ar_projects set config = config || '{{\"printPhotoMm\": 10}}' where id = '{lasting}'")
    st, h, js = d.json("POST", f"/api/ar/projects/{lasting}/rerun", token=B)
    check(st == 202 and js["status"] == "pending" and h["location"].endswith(f"/api/ar/status/{lasting}"),
          f"re-run: 202, pending ({st} {js})")
    st, _, js = d.json("POST", f"/api/ar/projects/{lasting}/rerun", token=B)
    check(st == 409 and js["code"] == "busy", "re-run while it runs: 409")
    final = d.wait_status(lasting, timeout=90)
    check(final["status"] == "ready" and set(final["timings"]) >= {"photo", "marker", "qr"},
          "the re-run runs the whole pipeline to ready, same id")
    ignored = [x for x in d.logs().splitlines() if '"print option ignored"' in x]
    check(final.get("printSheetUrl") and len(ignored) == 1 and lasting in ignored[0] and "printPhotoMm" in ignored[0],
          f"a refused printPhotoMm in the config: the shop's default, a warning ({final.get('printSheetUrl')}, {ignored})")
    st, _, js = d.json("POST", f"/api/ar/projects/{demo}/rerun", token=A)
    final = d.wait_status(demo, timeout=90) if st == 202 else {}
    check(final.get("status") == "ready" and final["videoUrl"].endswith("/ar-video.mp4")
          and not os.path.exists(os.path.join(folder, newvid))
          and {f: sha(os.path.join(folder, f)) for f in kept} == kept,
          f"a re-run after a new video: plain names again, the named video gone, the same marker and print "
          f"({final.get('videoUrl')}, {sorted(os.listdir(folder))})")

    # A new video whose project's last result lacks the print's geometry
    # runs the whole pipeline instead: the web video an earlier new video
    # made under a name of its own goes too (it stayed, unreferenced).
    st, _, js = form(vpath, {}, [("video", "v.mp4", "video/mp4", clip)])
    named = d.wait_status(demo, timeout=90) if st == 202 else {}
    named_vid = urllib.parse.urlparse(named.get("videoUrl") or "/x").path.rsplit("/", 1)[1]
    psql(f"update ar_projects set result = result #- '{{items,0,photo,print}}' where id = '{demo}'")
    st2, _, js2 = form(vpath, {}, [("video", "v.mp4", "video/mp4", other_clip())])
    whole = d.wait_status(demo, timeout=90) if st2 == 202 else {}
    check(named.get("status") == "ready" and named_vid != "ar-video.mp4"
          and whole.get("status") == "ready" and "marker" in whole.get("timings", {})
          and whole["videoUrl"].endswith("/ar-video.mp4") and not os.path.exists(os.path.join(folder, named_vid))
          and "whole pipeline runs" in d.logs(),
          f"a new video without the print's geometry: the whole pipeline, and the named web video is gone "
          f"({named_vid}, {sorted(os.listdir(folder))})")

    # ---- 7. delete ----
    check(d.request("DELETE", f"/api/ar/projects/{plain}", token=A)[0] == 404, "DELETE of another's: 404")
    pfolder = os.path.join(d.storage, "ar-storage", plain)
    st, _, body = d.request("DELETE", f"/api/ar/projects/{plain}")
    check(st == 204 and body == b"", f"DELETE: 204 ({st})")
    check(not os.path.exists(pfolder), "its folder is gone")
    check(psql(f"select count(*) from ar_projects where id = '{plain}'") == "0", "its row is gone")
    check(psql(f"select reason from ar_tombstones where id = '{plain}'") == "deleted", "its tombstone says deleted")
    st, _, js = d.json("GET", f"/api/ar/status/{plain}")
    check(st == 404, "its status: 404")
    check(d.request("GET", f"/objects/ar-storage/{plain}/marker.mind")[0] == 404, "its files: 404")
    st, h, body = d.request("GET", f"/ar/view/{plain}")
    check(st == 410 and "removed" in body.decode().lower(), f"its view: 410, a removed page ({st})")
    check(d.request("DELETE", f"/api/ar/projects/{plain}")[0] == 404, "DELETE again: 404")
    busy_id = psql("insert into ar_projects (id, owner, status, lease_owner, lease_expires_at, run_after)"
                   " values (gen_random_uuid(), 'shop-a', 'processing', 'elsewhere', now() + interval '1 hour',"
                   " 'infinity') returning id")
    st, h, js = d.json("DELETE", f"/api/ar/projects/{busy_id}", token=A)
    check(st == 409 and js["code"] == "busy" and "retry-after" in h, f"DELETE while processing: 409 ({js})")

    # A re-run, a new video or a PATCH that comes while a DELETE removes the
    # folder finds nothing: the project is being deleted. (A re-run used to
    # re-queue it then, and its worker wrote into the folder being removed:
    # files left without a row.) 100,000 files keep the removal busy a while.
    st, _, js = d.upload(photo, video, token=A)
    racing = js["arId"]
    d.wait_status(racing, timeout=90)
    rfolder = os.path.join(d.storage, "ar-storage", racing)
    many = os.path.join(rfolder, "many")
    os.mkdir(many)
    for i in range(100_000):
        os.close(os.open(os.path.join(many, str(i)), os.O_CREAT | os.O_WRONLY, 0o644))
    import threading
    deleted = {}
    t = threading.Thread(target=lambda: deleted.update(st=d.request("DELETE", f"/api/ar/projects/{racing}",
                                                                     token=A)[0]))
    t.start()
    deadline = time.time() + 10
    while time.time() < deadline and psql(f"select run_after = 'infinity' from ar_projects where id = '{racing}'") != "t":
        time.sleep(0.01)
    during = [d.json("POST", f"/api/ar/projects/{racing}/rerun", token=A)[0],
              form(f"/api/ar/projects/{racing}/video", {}, [("video", "v.mp4", "video/mp4", clip)], token=A)[0],
              patch(racing, {"title": "late"}, token=A)[0],
              d.json("GET", f"/api/ar/projects/{racing}", token=A)[0]]
    still = os.path.exists(many)
    t.join(60)
    check(still and during == [404, 404, 404, 404],
          f"while a DELETE removes the folder: re-run, new video, PATCH and GET answer 404 ({during}, "
          f"removal still running: {still})")
    time.sleep(3)
    check(deleted.get("st") == 204 and not os.path.exists(rfolder)
          and psql(f"select count(*) from ar_projects where id = '{racing}'") == "0",
          f"and the DELETE ends: 204, no folder, no row ({deleted}, {os.path.exists(rfolder)})")

    # A deletion left half-done (its daemon died between the folder and the
    # row): the project stays gone for every route; DELETE again finishes
    # it, and so does the sweep after ten minutes.
    halves = []
    for _ in range(2):
        st, _, js = d.upload(photo, video, token=A)
        halves.append(js["arId"])
        d.wait_status(js["arId"], timeout=90)
    for ar_ in halves:
        psql(f"update ar_projects set deleting_at = now(), run_after = 'infinity' where id = '{ar_}'")
    listed = [i["arId"] for i in get_list("limit=100")[2]["items"]]
    check(d.json("GET", f"/api/ar/projects/{halves[0]}")[0] == 404 and halves[0] not in listed,
          "a half-deleted project: 404, and not listed")
    st = d.request("DELETE", f"/api/ar/projects/{halves[0]}")[0]
    check(st == 204 and psql(f"select reason from ar_tombstones where id = '{halves[0]}'") == "deleted"
          and not os.path.exists(os.path.join(d.storage, "ar-storage", halves[0])),
          f"DELETE again finishes it: 204, tombstone 'deleted', no folder ({st})")
    psql(f"update ar_projects set deleting_at = now() - interval '11 minutes' where id = '{halves[1]}'")
    deadline = time.time() + 20
    while time.time() < deadline and psql(f"select count(*) from ar_projects where id = '{halves[1]}'") != "0":
        time.sleep(0.3)
    check(psql(f"select reason from ar_tombstones where id = '{halves[1]}'") == "deleted"
          and not os.path.exists(os.path.join(d.storage, "ar-storage", halves[1])),
          "the sweep finishes one half-deleted for ten minutes, with a tombstone that says deleted")

    # An expired demo the sweep removes leaves a tombstone that says so.
    st, _, js = d.upload(photo, video, token=A)
    gone = js["arId"]
    d.wait_status(gone, timeout=90)
    psql(f"update ar_projects set expires_at = now() - interval '1 second' where id = '{gone}'")
    deadline = time.time() + 20
    while time.time() < deadline and psql(f"select count(*) from ar_tombstones where id = '{gone}'") == "0":
        time.sleep(0.3)
    check(psql(f"select reason from ar_tombstones where id = '{gone}'") == "expired", "the sweep's tombstone says expired")
    st, _, body = d.request("GET", f"/ar/view/{gone}")
    check(st == 410, f"an expired demo's view: 410 ({st})")

    # ---- 8. CORS ----
    st, h, body = d.request("OPTIONS", "/api/ar/projects", token=None,
                            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                                     "Access-Control-Request-Headers": "authorization"})
    check(st == 204 and h.get("access-control-allow-origin") == ORIGIN and "GET" in h.get("access-control-allow-methods", "")
          and "authorization" in h.get("access-control-allow-headers", "").lower() and "Origin" in h.get("vary", ""),
          f"a preflight from an allowed origin: 204 with the CORS headers ({st} {h})")
    st, h, body = d.request("OPTIONS", f"/api/ar/projects/{demo}", token=None,
                            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PATCH"})
    check(st == 204 and "PATCH" in h.get("access-control-allow-methods", ""), "a PATCH preflight too")
    st, h, body = d.request("OPTIONS", "/api/ar/projects", token=None,
                            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    check(st == 403 and "access-control-allow-origin" not in h, f"a preflight from another origin: 403 ({st})")
    st, h, _ = d.request("GET", "/api/ar/projects", headers={"Origin": ORIGIN})
    check(st == 200 and h.get("access-control-allow-origin") == ORIGIN and "Origin" in h.get("vary", "")
          and "access-control-allow-credentials" not in h, "an API answer names the allowed origin, never *")
    st, h, _ = d.request("GET", "/api/ar/projects", headers={"Origin": "https://evil.example"})
    check(st == 200 and "access-control-allow-origin" not in h and "Origin" in h.get("vary", ""),
          "another origin: no Allow-Origin, Vary: Origin")
    st, h, _ = d.request("GET", "/healthz", headers={"Origin": ORIGIN})
    check("access-control-allow-origin" not in h, "non-API routes take no part in CORS")
finally:
    d.cleanup()

# Without corsOrigins there is no CORS at all.
d2 = Daemon()
try:
    st, h, _ = d2.request("OPTIONS", "/api/ar/projects", token=None,
                          headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
    check(st == 405 and "access-control-allow-origin" not in h, f"no corsOrigins: a preflight is a 405 ({st})")
finally:
    d2.cleanup()
finish()
