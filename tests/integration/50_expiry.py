"""Expiry: a demo lives demo.ttlHours, then the sweep removes its files and
its row; a lasting project (POST /api/ar/create) stays. Here with a demo
lifetime of 15 s (a job under the sanitizers on a loaded machine took over
6 s: the demo expired before it was ready) and a sweep every second.
usage (inside pg_virtualenv): 50_expiry.py ARCD MKIMAGE"""
import os
import time

from harness import Daemon, check, finish, photo_bytes, psql, sample_mp4

TTL = 15
d = Daemon(demo={"ttlHours": TTL / 3600, "sweepSeconds": 1})
try:
    photo, video = photo_bytes("pictarize.jpg"), sample_mp4()
    st, _, demo = d.upload(photo, video)
    st2, _, lasting = d.create([(photo, video)])
    check(st == 202 and st2 == 202, "a demo and a lasting project accepted")
    ready = d.wait_status(demo["arId"], timeout=60)
    check(ready.get("status") == "ready", f"the demo is ready before it expires ({ready})")
    check(d.wait_status(lasting["arId"], timeout=60)["status"] == "ready", "the lasting project is ready")
    folder = os.path.join(d.storage, "ar-storage", demo["arId"])
    check(os.path.isdir(folder) and os.listdir(folder), "the demo's files are there")

    deadline = time.time() + TTL + 30
    while time.time() < deadline and os.path.exists(folder):
        time.sleep(0.5)
    check(not os.path.exists(folder), f"after its {TTL} s the demo's folder is removed")
    gone = time.time() + 10
    while time.time() < gone and psql(f"select count(*) from ar_projects where id = '{demo['arId']}'") != "0":
        time.sleep(0.2)
    check(psql(f"select count(*) from ar_projects where id = '{demo['arId']}'") == "0", "and its row")
    st, _, js = d.json("GET", f"/api/ar/status/{demo['arId']}")
    check(st == 404, f"its status is 404 ({st})")
    st, _, _ = d.request("GET", f"/objects/ar-storage/{demo['arId']}/marker.mind")
    check(st == 404, "its files are 404")
    check(d.metric("arcd_expired_projects_swept_total") >= 1, "/metrics counts the sweep")
    check("swept 1 expired project" in d.logs(), "the daemon logs the sweep")
    st, _, js = d.json("GET", f"/api/ar/status/{lasting['arId']}")
    check(st == 200 and js["status"] == "ready" and js["expiresAt"] is None
          and os.path.isdir(os.path.join(d.storage, "ar-storage", lasting["arId"])),
          "the lasting project, files and row, stays")
    check(psql(f"select count(*) from ar_project_items where project_id = '{lasting['arId']}'") == "1",
          "with its items")
finally:
    d.cleanup()
finish()
