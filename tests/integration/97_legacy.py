"""The old system's projects (issue 14, part 6): an arcd database of
schema 003 with projects in it is migrated to 004 (ids become text, nothing
lost); an old system's database (its ar_projects and ar_project_items, in a
second database of the cluster) and storage folder (objects/ar-storage/<id>/)
are imported with `arcd import-legacy`: a dry run first (nothing changes,
not even the schema), then for real, then again (nothing new), then once
more after a missing file came back. Checked: what each old project became
(a ready demo and a ready permanent two-target project imported, an error
one skipped, an expired demo recorded as expired, one without its marker and
one with an id arcd cannot keep reported), marker.mind byte for byte (also
after a re-run), the old view URL, the old /api/ar/storage/ URLs (301), the
fields kept, no webhook for the import's own run, ids of the old shape on
the API routes, new projects with random ids; then headless Chromium whose
camera films the old print opens the old QR code's URL and MindAR fires
targetFound (skipped under the sanitizers, ARCD_TEST_SANITIZED=1).
usage (inside pg_virtualenv): 97_legacy.py ARCD MKIMAGE"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import ARCD, DATA, ROOT, Daemon, camera_clip, check, finish, free_port, psql

SANITIZED = os.environ.get("ARCD_TEST_SANITIZED") == "1"
WAIT = 40  # seconds for MindAR to start and find the target
work = tempfile.mkdtemp(prefix="arcd-legacy-")
storage = tempfile.mkdtemp(prefix="arcd-storage-")
old = os.path.join(work, "old")
port = free_port()
base = f"http://127.0.0.1:{port}"
t0 = time.time()

DEMO = "demo-1763812430225-hr7mysw"      # ready, expires in a week: its QR code is filmed
PERM = "ar-1763812999001-k2j9x0ab"      # ready, permanent, two targets (items by URL)
FAILED = "demo-1763813000000-e4rr0r"    # the old system's status: error
EXPIRED = "demo-1700000000000-gone11"   # a ready demo whose time ran out
NOMARK = "ar-1763814000000-nomark1"     # ready, but its marker.mind is missing
BADID = "Demo_1763814000000"            # an id arcd cannot keep
UUID_OLD = "0f8fad5b-d9cb-469f-a165-70867728950e"   # an arcd project made before 004
UUID_GONE = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"  # and one deleted before 004


def sql_in(db, sql):
    out = subprocess.run(["psql", "-d", db, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return out.stdout.strip()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def put(project, name, data):
    folder = os.path.join(old, "objects", "ar-storage", project)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def import_legacy(config, *extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ARCD_CONFIG")}
    out = subprocess.run([ARCD, "import-legacy", "--from-database", "dbname=legacy", "--from-storage", old,
                          "--config", config, *extra], capture_output=True, text=True, env=env, timeout=120)
    print(f"import-legacy {' '.join(extra)}: exit {out.returncode}\n{out.stdout}{out.stderr}", flush=True)
    return out


def line_of(out, project):
    for line in out.stdout.splitlines():
        if line.startswith(project + " "):
            return line
    return ""


# ---- arcd's database as 003 left it, with projects ----
psql("CREATE TABLE arcd_migrations (version integer PRIMARY KEY, name text NOT NULL,"
     " applied_at timestamptz NOT NULL DEFAULT now())")
for version, name in ((1, "projects"), (2, "back_office"), (3, "removals_and_notices")):
    subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-q", "-1", "-f",
                    os.path.join(ROOT, "sql", f"{version:03d}_{name}.sql")], check=True, capture_output=True)
    psql(f"INSERT INTO arcd_migrations (version, name) VALUES ({version}, '{name}')")
psql(f"INSERT INTO ar_projects (id, status, stage, progress, photo_format, video_format, result, title, order_ref)"
     f" VALUES ('{UUID_OLD}', 'ready', 'done', 100, 'jpg', 'mp4',"
     f" '{{\"files\": [\"index.html\", \"marker.mind\"]}}', 'Made before 004', 'ORD-OLD');"
     f" INSERT INTO ar_project_items (project_id, position, photo_file, video_file)"
     f" VALUES ('{UUID_OLD}', 0, 'photo.jpg', 'video.mp4');"
     f" INSERT INTO ar_tombstones (id, reason) VALUES ('{UUID_GONE}', 'deleted');"
     f" INSERT INTO ar_deliveries (project_id, event, channel, target, snapshot)"
     f" VALUES ('{UUID_OLD}', 'project.ready', 'webhook', 'http://192.0.2.1/hook', '{{}}')")

# ---- the old system: its database and its storage ----
psql("CREATE DATABASE legacy")
sql_in("legacy", """
CREATE TABLE ar_projects (
    id varchar(64) PRIMARY KEY, user_id varchar(64), order_id varchar(128), photo_url text, video_url text,
    view_url text, viewer_html_url text, qr_code_url text,
    status varchar(16) CHECK (status IN ('pending', 'processing', 'ready', 'error')),
    compilation_started_at timestamptz, compilation_finished_at timestamptz, compilation_time_ms integer,
    error_message text, photo_width integer, photo_height integer, video_width integer, video_height integer,
    video_duration_ms integer, fit_mode varchar(16), scale_width integer, scale_height integer, config jsonb,
    is_demo boolean, expires_at timestamptz, notification_sent boolean, notification_sent_at timestamptz,
    created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
CREATE TABLE ar_project_items (
    id serial PRIMARY KEY, project_id varchar(64) REFERENCES ar_projects (id), target_index integer,
    name text, photo_url text, video_url text);""")


def old_row(pid, status, demo, expires, view, order="NULL", error="NULL", fit="cover"):
    return (f"('{pid}', 'user-7', {order}, '/api/ar/storage/{pid}/photo.jpg', '/api/ar/storage/{pid}/video.mp4',"
            f" '{view}', '/api/ar/storage/{pid}/index.html', '/api/ar/storage/{pid}/qr-code.png', '{status}',"
            f" now() - interval '30 days', now() - interval '30 days', 187000, {error}, 674, 372, 360, 240, 3000,"
            f" '{fit}', NULL, NULL, '{{\"useSmartCrop\": false}}', {demo}, {expires}, true,"
            f" now() - interval '30 days', timestamptz '2025-11-22 12:33:50+00', now())")


sql_in("legacy", "INSERT INTO ar_projects VALUES " + ", ".join([
    old_row(DEMO, "ready", "true", "now() + interval '7 days'", f"{base}/ar/view/{DEMO}", order="'ORD-77'"),
    # Its printed QR codes lead to the old address: the import notes it.
    old_row(PERM, "ready", "false", "NULL", f"https://old-shop.example/ar/view/{PERM}", order="100500",
            fit="contain"),
    old_row(FAILED, "error", "true", "now() + interval '7 days'", f"{base}/ar/view/{FAILED}",
            error="'compilation timed out'"),
    old_row(EXPIRED, "ready", "true", "now() - interval '2 days'", f"{base}/ar/view/{EXPIRED}"),
    old_row(NOMARK, "ready", "false", "NULL", f"{base}/ar/view/{NOMARK}"),
    old_row(BADID, "ready", "false", "NULL", f"{base}/ar/view/{BADID}"),
]))
# The two-target project's pairs, by URL (absolute, /api/ar/storage/, /objects/ar-storage/).
sql_in("legacy", f"""INSERT INTO ar_project_items (project_id, target_index, name, photo_url, video_url) VALUES
    ('{PERM}', 0, 'card', 'https://old-shop.example/api/ar/storage/{PERM}/target-0.png?v=2',
     '/objects/ar-storage/{PERM}/target-0.mp4'),
    ('{PERM}', 1, 'pictarize', '/api/ar/storage/{PERM}/target-1.jpg', '/api/ar/storage/{PERM}/target-1.mp4')""")

card_jpg = os.path.join(work, "card.jpg")
ffmpeg("-i", os.path.join(DATA, "card.png"), "-q:v", "2", card_jpg)  # the old print: card.png with its border
sample = read(os.path.join(DATA, "sample.mp4"))
card_mind, two_mind = read(os.path.join(DATA, "card.ref.mind")), read(os.path.join(DATA, "card+pictarize.ref.mind"))
for pid in (DEMO, EXPIRED, NOMARK, BADID, FAILED):
    put(pid, "marker.mind", card_mind)
    put(pid, "enhanced-photo.jpg", read(card_jpg))
    put(pid, "marker-for-mind.jpg", read(card_jpg))
    put(pid, "video.mp4", sample)
    put(pid, "index.html", b"<html>the old viewer</html>")
    put(pid, "qr-code.png", read(os.path.join(DATA, "card.png")))
os.unlink(os.path.join(old, "objects", "ar-storage", NOMARK, "marker.mind"))
put(PERM, "marker.mind", two_mind)
put(PERM, "target-0.png", read(os.path.join(DATA, "card.png")))  # not a JPEG: written again as one
wide = os.path.join(work, "pictarize-wide.jpg")
ffmpeg("-i", os.path.join(DATA, "pictarize.jpg"), "-vf", "scale=800:600", wide)  # not its marker's shape
put(PERM, "target-1.jpg", read(wide))
put(PERM, "target-0.mp4", sample)
put(PERM, "target-1.mp4", sample)

config = os.path.join(work, "arcd.json")
with open(config, "w") as f:
    json.dump({"server": {"publicUrl": base}, "storage": {"dir": storage}}, f)

# ---- a dry run: what it would do, and nothing changes ----
before = psql("SELECT (SELECT count(*) FROM ar_projects) || '/' || (SELECT count(*) FROM ar_tombstones)"
              " || '/' || (SELECT max(version) FROM arcd_migrations)")
dry = import_legacy(config, "--dry-run")
check(dry.returncode == 3, f"the dry run's exit status is 3: two projects cannot be imported ({dry.returncode})")
check(line_of(dry, DEMO).find("would import: demo until") > 0 and "order ORD-77" in line_of(dry, DEMO),
      f"dry run: the demo would be imported ({line_of(dry, DEMO)})")
check("would import: permanent, 2 targets, order 100500" in line_of(dry, PERM),
      f"dry run: the two-target project would be imported ({line_of(dry, PERM)})")
check("would record: expired in the old system" in line_of(dry, EXPIRED), "dry run: the expired demo would be recorded")
check("skipped: error in the old system: compilation timed out" in line_of(dry, FAILED),
      f"dry run: the failed project is skipped with its reason ({line_of(dry, FAILED)})")
check("NOT IMPORTED" in line_of(dry, NOMARK) and "marker.mind is missing" in line_of(dry, NOMARK),
      f"dry run: the project without its marker is reported ({line_of(dry, NOMARK)})")
check("NOT IMPORTED: not an id arcd can keep" in line_of(dry, BADID), f"dry run: the bad id is reported")
check(re.search(r"would migrate it to \d+ first", dry.stdout) is not None,
      "dry run: the schema's migration is announced, not made")
check("dry run, nothing changed: 2 would be imported, 0 already imported, 1 expired" in dry.stdout,
      "dry run: the summary")
after = psql("SELECT (SELECT count(*) FROM ar_projects) || '/' || (SELECT count(*) FROM ar_tombstones)"
             " || '/' || (SELECT max(version) FROM arcd_migrations)")
check(before == after == "1/1/3", f"the dry run changed nothing, not even the schema ({before} -> {after})")
check(os.listdir(storage) == [], f"the dry run wrote nothing in the storage ({os.listdir(storage)})")

# ---- arcd serve migrates 003 to 004: the projects made before keep their ids ----
d = Daemon(storage=storage, port=port, notify={"webhookUrl": "http://192.0.2.1/hook"})
try:
    check(int(psql("SELECT max(version) FROM arcd_migrations")) >= 4, "the daemon migrated the database past 004")
    check(psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'ar_projects'"
               " AND column_name = 'id'") == "text", "ar_projects.id is text after 004")
    st, _, js = d.json("GET", f"/api/ar/projects/{UUID_OLD}")
    check(st == 200 and js["arId"] == UUID_OLD and js["orderRef"] == "ORD-OLD" and js["importedAt"] is None,
          f"a project made before 004 reads as before ({st}, {js.get('arId') if isinstance(js, dict) else js})")
    st, _, js = d.json("GET", f"/api/ar/projects/{UUID_OLD}/notifications")
    check(st == 200 and len(js["items"]) == 1, f"its delivery is kept ({st})")
    check(psql(f"SELECT project_id FROM ar_project_items WHERE project_id = '{UUID_OLD}'") == UUID_OLD,
          "its pair is kept, under its foreign key")
    st, _, _ = d.request("GET", f"/ar/view/{UUID_GONE}")
    check(st == 410, f"a project deleted before 004 is still 'removed' ({st})")

    # ---- the import ----
    out = import_legacy(config)
    check(out.returncode == 3, f"the import's exit status is 3: two projects cannot be imported ({out.returncode})")
    check(f"imported: demo until" in line_of(out, DEMO) and "queued for its video, viewer and QR code" in
          line_of(out, DEMO), f"the demo is imported ({line_of(out, DEMO)})")
    check("imported: permanent, 2 targets" in line_of(out, PERM) and "print 2 is 800x600" in line_of(out, PERM),
          f"the two-target project is imported, the print of another shape noted ({line_of(out, PERM)})")
    check("recorded: expired in the old system" in line_of(out, EXPIRED), "the expired demo is recorded")
    check("NOT IMPORTED" in line_of(out, NOMARK) and "NOT IMPORTED" in line_of(out, BADID), "the two problems again")
    check("note: old QR codes lead to https://old-shop.example/ar/view/<id>" in out.stdout,
          "the old address of the QR codes that do not lead to arcd is noted")
    check("2 imported, 0 already imported, 1 expired (recorded as such), 1 not ready in the old system (skipped), "
          "2 could not be imported" in out.stdout, "the summary")

    demo = d.wait_status(DEMO, timeout=90)
    perm = d.wait_status(PERM, timeout=90)
    check(demo.get("status") == "ready", f"the imported demo ends ready ({demo.get('status')}, {demo.get('errorMessage')})")
    check(perm.get("status") == "ready", f"the two-target project ends ready ({perm.get('status')}, {perm.get('errorMessage')})")
    old_expiry = sql_in("legacy", f"SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                                  f" FROM ar_projects WHERE id = '{DEMO}'")
    check(demo["isDemo"] is True and demo["expiresAt"] == old_expiry,
          f"the demo stays a demo with the old expiry ({demo['expiresAt']} == {old_expiry})")
    check(perm["isDemo"] is False and perm["expiresAt"] is None, "the permanent project stays permanent")
    st, _, full = d.json("GET", f"/api/ar/projects/{DEMO}")
    check(full["orderRef"] == "ORD-77" and full["createdAt"] == "2025-11-22T12:33:50Z" and full["importedAt"],
          f"order_id is the orderRef, created_at kept, importedAt set ({full['orderRef']}, {full['createdAt']},"
          f" {full['importedAt']})")
    check(full["fitMode"] == "cover", "the fit mode is kept")
    check(perm.get("targets") and len(perm["targets"]) == 2 and
          perm["targets"][1]["photo"]["print"]["width"] == 800 and perm["targets"][1]["photo"]["print"]["height"] == 800,
          "pair 2's video is placed by its marker's shape (800x800), not its print's")
    check(demo["rating"] and demo["rating"].get("stars") is not None, f"a rating from the old marker ({demo['rating']})")
    check(demo["videoUrl"] and demo["qrCodeUrl"] and demo["viewerHtmlUrl"] and demo["enhancedPhotoUrl"],
          "the status lists the video, QR code, viewer and print")
    legacy = json.loads(psql(f"SELECT legacy FROM ar_projects WHERE id = '{PERM}'"))
    check(legacy["row"]["user_id"] == "user-7" and len(legacy["items"]) == 2 and legacy["importedAt"],
          "the old row and items are kept with the project")

    folder = os.path.join(storage, "ar-storage", DEMO)
    check(read(os.path.join(folder, "marker.mind")) == card_mind, "the demo's marker.mind is the old one, byte for byte")
    check(read(os.path.join(storage, "ar-storage", PERM, "marker.mind")) == two_mind,
          "the two-target project's marker.mind too")
    st, _, served = d.request("GET", f"/objects/ar-storage/{DEMO}/marker.mind")
    check(st == 200 and served == card_mind, "and so it is served")
    st, h, served = d.request("GET", f"/objects/ar-storage/{DEMO}/marker.mind", headers={"Accept-Encoding": "br"})
    check(st == 200 and h.get("content-encoding") == "br", "in brotli to a phone that takes it")
    st, _, jpg = d.request("GET", f"/objects/ar-storage/{PERM}/enhanced-photo.jpg")
    check(st == 200 and jpg[:2] == b"\xff\xd8", "a print that was a PNG is served as a JPEG")
    st, _, thumb = d.request("GET", f"/objects/ar-storage/{DEMO}/thumbnail.jpg")
    check(st == 200 and thumb[:2] == b"\xff\xd8", "the project list's thumbnail")
    check(psql(f"SELECT count(*) FROM ar_deliveries WHERE project_id IN ('{DEMO}', '{PERM}')") == "0",
          "the import's own runs told no webhook")

    # The QR code: new, with the old URL.
    st, _, png = d.request("GET", f"/objects/ar-storage/{DEMO}/qr-code.png")
    with open(os.path.join(work, "qr.png"), "wb") as f:
        f.write(png)
    url = subprocess.run(["zbarimg", "--raw", "-q", os.path.join(work, "qr.png")], capture_output=True,
                         text=True).stdout.strip()
    old_url = sql_in("legacy", f"SELECT view_url FROM ar_projects WHERE id = '{DEMO}'")
    check(url == old_url, f"the new QR code holds the old view URL ({url})")

    # The old view URL and the old file URLs.
    st, h, _ = d.request("GET", f"/ar/view/{DEMO}")
    check(st == 302 and h.get("location") == f"/objects/ar-storage/{DEMO}/index.html",
          f"the old view URL leads to the viewer ({st} {h.get('location')})")
    st, _, page = d.request("GET", f"/objects/ar-storage/{DEMO}/index.html")
    check(st == 200 and b"marker.mind" in page and b"the old viewer" not in page, "the viewer is arcd's new one")
    web = demo["videoUrl"].rsplit("/", 1)[1]
    for name, want in (("index.html", "index.html"), ("marker.mind", "marker.mind"), ("qr-code.png", "qr-code.png"),
                       ("enhanced-photo.jpg", "enhanced-photo.jpg"), ("video.mp4", web)):
        st, h, _ = d.request("GET", f"/api/ar/storage/{DEMO}/{name}", token=None)
        check(st == 301 and h.get("location") == f"/objects/ar-storage/{DEMO}/{want}",
              f"/api/ar/storage/{DEMO}/{name}: 301 to {want} ({st} {h.get('location')})")
    st, h, _ = d.request("HEAD", f"/api/ar/storage/{PERM}/video.mp4", token=None)
    check(st == 301 and h.get("location", "").startswith(f"/objects/ar-storage/{PERM}/ar-video"), f"HEAD too ({st})")
    for path in (f"/api/ar/storage/{DEMO}/marker-for-mind.jpg", f"/api/ar/storage/{NOMARK}/index.html",
                 f"/api/ar/storage/{FAILED}/index.html", f"/api/ar/storage/demo-1763812430225-unknown/index.html",
                 f"/api/ar/storage/{BADID}/index.html", f"/api/ar/storage/{DEMO}/..%2fx"):
        st, _, _ = d.request("GET", path, token=None)
        check(st == 404, f"{path}: 404 ({st})")
    st, _, _ = d.request("GET", f"/ar/view/{EXPIRED}")
    check(st == 410, f"the expired demo's view says it has expired ({st})")
    for pid in (FAILED, NOMARK):
        st, _, _ = d.request("GET", f"/ar/view/{pid}")
        check(st == 404, f"{pid}, not imported: its view is 404 ({st})")

    # Ids of the old shape on the API routes.
    st, _, js = d.json("GET", "/api/ar/projects?q=ORD-77")
    check(st == 200 and [i["arId"] for i in js["items"]] == [DEMO], "the list finds the demo by its order")
    st, _, js = d.json("PATCH", f"/api/ar/projects/{DEMO}", body=json.dumps({"title": "Imported"}),
                       headers={"Content-Type": "application/json"})
    check(st == 200 and js["title"] == "Imported", f"PATCH of an old id ({st})")
    st, _, js = d.json("GET", f"/api/ar/projects/{DEMO}/notifications")
    check(st == 200 and js["items"] == [], f"its notifications ({st})")
    st, _, js = d.json("POST", f"/api/ar/projects/{DEMO}/rerun")
    check(st == 202, f"a re-run of an imported project ({st})")
    again = d.wait_status(DEMO, timeout=90)
    check(again.get("status") == "ready", f"... ends ready ({again.get('status')}, {again.get('errorMessage')})")
    check(read(os.path.join(folder, "marker.mind")) == card_mind, "... and keeps the old marker.mind byte for byte")
    check(psql(f"SELECT count(*) FROM ar_deliveries WHERE project_id = '{DEMO}' AND event = 'project.ready'") == "1",
          "... and a re-run is told, as any project's")
    for bad in ("Demo-1763812430225-hr7mysw", "demo-1763812430225-hr7mysw-", "demo-1763812430225-hr7mysw%2f.."):
        st, _, _ = d.request("GET", f"/api/ar/status/{bad}")
        check(st == 404, f"/api/ar/status/{bad}: 404 ({st})")
    st, _, js = d.upload(read(card_jpg), sample)
    check(st == 202 and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", js["arId"]),
          f"a new project still gets 128 random bits ({js.get('arId') if isinstance(js, dict) else js})")

    # ---- again: nothing new; then the missing marker comes back ----
    rows = psql("SELECT count(*) FROM ar_projects")
    out = import_legacy(config)
    check(out.returncode == 3 and "already imported (ready in arcd)" in line_of(out, DEMO) and
          "already imported (ready in arcd)" in line_of(out, PERM) and
          "already imported (expired in arcd since)" in line_of(out, EXPIRED),
          "a second run skips what it imported, and says so")
    check("0 imported, 3 already imported" in out.stdout and psql("SELECT count(*) FROM ar_projects") == rows,
          "... and makes nothing")
    check(read(os.path.join(folder, "marker.mind")) == card_mind, "... and leaves the files alone")
    put(NOMARK, "marker.mind", card_mind)
    sql_in("legacy", f"DELETE FROM ar_projects WHERE id = '{BADID}'")
    out = import_legacy(config)
    check(out.returncode == 0 and "imported: permanent, 1 target" in line_of(out, NOMARK),
          f"once its marker is there, the last one is imported (exit {out.returncode})")
    late = d.wait_status(NOMARK, timeout=90)
    check(late.get("status") == "ready", f"... and ends ready ({late.get('status')}, {late.get('errorMessage')})")
    st, _, _ = d.json("DELETE", f"/api/ar/projects/{NOMARK}")
    st2, _, _ = d.request("GET", f"/ar/view/{NOMARK}")
    check(st == 204 and st2 == 410, f"an imported project is deleted as any ({st}, then its view {st2})")
    check(not os.path.exists(os.path.join(storage, "tmp")) or
          not [f for f in os.listdir(os.path.join(storage, "tmp")) if f.startswith("legacy-")],
          "no import folder is left in storage/tmp")
    print(f"the import's checks took {time.time() - t0:.1f} s", flush=True)

    # ---- a phone films the old print and opens the old QR code's URL ----
    if SANITIZED:
        print("the browser's part runs on the Release build only (ARCD_TEST_SANITIZED=1)", flush=True)
    else:
        camera_clip(card_jpg, os.path.join(work, "cam.y4m"))
        env = dict(os.environ, ARCD_NODE=os.path.join(ROOT, "var", "node"))
        shots = os.path.join(ROOT, "build", "legacy-test")
        os.makedirs(shots, exist_ok=True)
        r = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "phone_check.mjs"), old_url,
                            os.path.join(work, "cam.y4m"), str(WAIT), os.path.join(shots, "found.png")],
                           capture_output=True, text=True, env=env, timeout=WAIT + 90,
                           cwd=os.path.join(ROOT, "var", "node"))
        line = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "{}"
        print("browser:", line[:800], r.stderr[-400:], flush=True)
        r = json.loads(line)
        check(r.get("finalUrl", "").endswith(f"/objects/ar-storage/{DEMO}/index.html"),
              "the old QR code's URL leads to the new viewer")
        check(r.get("arReady") is not None and r.get("targetFound") is not None,
              f"MindAR finds the old print with the old marker (targetFound at {r.get('targetFound')} s, "
              f"arReady at {r.get('arReady')} s)")
        check(r.get("pageErrors") == [] and r.get("consoleErrors") == [],
              f"no page or console errors ({r.get('pageErrors')} {r.get('consoleErrors')})")
    print(f"97_legacy took {time.time() - t0:.1f} s", flush=True)
finally:
    d.cleanup()
    shutil.rmtree(work, ignore_errors=True)
finish()
