"""Backups (src/cli/backup_cmd.c): projects made, `arcd backup DIR` (the
database through pg_dump, the files as hard links, a manifest `sha256sum -c`
accepts, old backups removed by --keep-days, a password never on pg_dump's
command line), a damaged backup refused, a restore into a database or
storage that is not empty refused; then the database and the storage
destroyed, `arcd restore`, and every status, view URL and file found
byte-identical through a new daemon.
usage (inside pg_virtualenv): 99_backup.py ARCD MKIMAGE"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import ARCD, DATA, Daemon, check, finish, photo_bytes, psql, sample_mp4

work = tempfile.mkdtemp(prefix="arcd-backup-")
backups = os.path.join(work, "backups")
storage = os.path.join(work, "storage")
os.makedirs(storage)
os.chmod(work, 0o755)
# A database of its own, reached with a password in the URL (pg_virtualenv's
# cluster takes password logins on localhost: PGPASSWORD is its user's).
psql("CREATE DATABASE shop")
url = (f"postgresql://{os.environ['PGUSER']}:{os.environ['PGPASSWORD']}@localhost:{os.environ['PGPORT']}/shop")
# pg_dump and pg_restore through a wrapper that records their arguments.
wrap = os.path.join(work, "bin")
os.makedirs(wrap)
seen = os.path.join(work, "argv.txt")
for prog in ("pg_dump", "pg_restore"):
    real = shutil.which(prog)
    with open(os.path.join(wrap, prog), "w") as f:
        f.write(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {seen}\nexec {real} "$@"\n')
    os.chmod(os.path.join(wrap, prog), 0o755)


def cli(*args, env=None):
    e = dict(os.environ)
    e.pop("PGPASSWORD", None)  # the password comes from database.url alone
    e["PATH"] = wrap + ":" + e["PATH"]
    e.update(env or {})
    return subprocess.run([ARCD, *args, "--config", d.config], capture_output=True, text=True, env=e, timeout=300)


def files_of(root):
    out = {}
    for dirpath, _, names in os.walk(os.path.join(root, "ar-storage")):
        for n in names:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def snapshot(d, ids):
    """Every project's status document, its view URL's answer and viewer page."""
    snap = {}
    for ar in ids:
        _, _, status = d.json("GET", f"/api/ar/projects/{ar}")
        st, h, _ = d.request("GET", f"/ar/view/{ar}")
        loc = h.get("location", "").replace(f"127.0.0.1:{d.port}", "HOST")
        _, _, page = d.request("GET", f"/objects/ar-storage/{ar}/index.html")
        status = json.loads(json.dumps(status).replace(f"127.0.0.1:{d.port}", "HOST"))
        snap[ar] = (status, st, loc, hashlib.sha256(page.replace(str(d.port).encode(), b"PORT")).hexdigest())
    return snap


d = Daemon(storage=storage, database={"url": url})
try:
    ids = []
    st, _, js = d.upload(photo_bytes("pictarize.jpg"), sample_mp4(), fields={"orderRef": "A-1", "title": "Anna"})
    ids.append(js["arId"])
    st, _, js = d.create([(photo_bytes("pictarize.jpg"), sample_mp4()), (photo_bytes("card.png"), sample_mp4())],
                         fields={"customerName": "Boris"})
    ids.append(js["arId"])
    done = [d.wait_status(a, timeout=120) for a in ids]
    check(all(x["status"] == "ready" for x in done), "two projects ready (one with two pairs)")
    d.json("PATCH", f"/api/ar/projects/{ids[0]}", body=json.dumps({"metadata": {"frame": "oak"}}),
           headers={"Content-Type": "application/json"})
    before = snapshot(d, ids)
    before_files = files_of(storage)
    check(len(before_files) > 20, f"{len(before_files)} files in the storage")

    # ---- old backups to prune, a cut-short one, something else ----
    os.makedirs(os.path.join(backups, "arcd-20200101T000000Z"))
    os.makedirs(os.path.join(backups, ".arcd-20200101T000000Z.partial"))
    os.utime(os.path.join(backups, ".arcd-20200101T000000Z.partial"), (1e9, 1e9))
    os.makedirs(os.path.join(backups, "notes"))

    # A file being written (arc_file_write_atomic's NAME.tmp.PID, the QR
    # stage's NAME.tmp) is not backed up: it is still changing.
    for name in ("index.html.tmp.4242", "qr-code.png.tmp"):
        with open(os.path.join(storage, "ar-storage", ids[0], name), "wb") as f:
            f.write(b"half-written")
    # Only folders named like a backup are pruned: a link of that name is not followed.
    keep = os.path.join(work, "precious")
    os.makedirs(keep)
    with open(os.path.join(keep, "file"), "w") as f:
        f.write("keep me")
    os.symlink(keep, os.path.join(backups, "arcd-20190101T000000Z"))

    r = cli("backup", backups, "--keep-days", "30")
    check(r.returncode == 0 and "2 projects" in r.stdout and "hard links" in r.stdout,
          f"arcd backup: exit 0 ({r.stdout.strip()} {r.stderr.strip()[-300:]})")
    print(r.stdout.strip())
    made = sorted(n for n in os.listdir(backups) if re.fullmatch(r"arcd-\d{8}T\d{6}Z", n))
    check(made != [] and made[-1] != "arcd-20200101T000000Z" and "arcd-20200101T000000Z" not in made,
          f"a dated backup; the one from 2020 removed by --keep-days 30 ({sorted(os.listdir(backups))})")
    check(os.path.exists(os.path.join(keep, "file")), "a link named like an old backup is left, its target untouched")
    check(not os.path.exists(os.path.join(backups, ".arcd-20200101T000000Z.partial"))
          and os.path.isdir(os.path.join(backups, "notes")),
          "an old cut-short backup removed; other folders left alone")
    b = os.path.join(backups, made[-1])
    r = subprocess.run(["sha256sum", "--quiet", "-c", "MANIFEST.sha256"], cwd=b, capture_output=True, text=True)
    check(r.returncode == 0, f"sha256sum -c MANIFEST.sha256 passes ({r.stdout[-200:]})")
    with open(os.path.join(b, "MANIFEST.sha256")) as f:
        listed = {line[66:].strip() for line in f}
    check(listed == {"database.dump"} | {"storage/" + k for k in before_files},
          "the manifest lists the dump and every project file, no temporary one")
    with open(os.path.join(b, "backup.json")) as f:
        meta = json.load(f)
    check(meta["projects"] == 2 and meta["files"] == len(before_files) and meta["linked"] == len(before_files)
          and meta["schemaVersion"] >= 3,
          f"backup.json: 2 projects, every file, all hard links on one file system ({meta})")
    some = next(iter(before_files))
    check(os.stat(os.path.join(b, "storage", some)).st_ino == os.stat(os.path.join(storage, some)).st_ino,
          "a backed-up file is a hard link of the project's")
    with open(os.path.join(b, "database.dump"), "rb") as f:
        check(f.read(5) == b"PGDMP", "database.dump is pg_dump's custom format")
    with open(seen) as f:
        argv = f.read()
    check(os.environ["PGPASSWORD"] not in argv and "--format=custom" in argv,
          f"the password is not on pg_dump's command line ({argv.strip()})")

    # A backup whose file changed is refused whole.
    bad = os.path.join(work, "damaged")
    shutil.copytree(b, bad)
    victim = os.path.join(bad, "storage", some)
    with open(victim, "r+b") as f:
        byte = f.read(1)
        f.seek(0)
        f.write(bytes([byte[0] ^ 1]))
    r = cli("restore", bad)
    check(r.returncode == 1 and "SHA-256 differs" in r.stderr, f"a damaged backup is refused ({r.stderr.strip()})")
    # A manifest without the dump, or naming a file outside the backup: refused.
    for what, edit in (("no database.dump", lambda t: "".join(l for l in t.splitlines(True) if "database.dump" not in l)),
                       ("a path out of it", lambda t: t + "0" * 64 + "  storage/ar-storage/../../etc/passwd\n")):
        odd = os.path.join(work, "odd")
        shutil.rmtree(odd, ignore_errors=True)
        shutil.copytree(b, odd)
        with open(os.path.join(odd, "MANIFEST.sha256")) as f:
            text = f.read()
        with open(os.path.join(odd, "MANIFEST.sha256"), "w") as f:
            f.write(edit(text))
        r = cli("restore", odd)
        check(r.returncode == 1, f"a manifest with {what} is refused ({r.stderr.strip()})")
    # Into a database that is not empty: refused, nothing touched.
    r = cli("restore", b)
    check(r.returncode == 1 and "not empty" in r.stderr, f"a restore over live data is refused ({r.stderr.strip()})")
finally:
    d.stop()

# ---- the disaster: the database and the storage are gone ----
psql("DROP DATABASE shop")
psql("CREATE DATABASE shop")
shutil.rmtree(storage)
r = cli("restore", b)
check(r.returncode == 0 and "restored" in r.stdout, f"arcd restore: exit 0 ({r.stdout.strip()} {r.stderr.strip()[-300:]})")
print(r.stdout.strip())
after_files = files_of(storage)
check(after_files == before_files, f"every file byte-identical ({len(after_files)} of {len(before_files)})")
d2 = Daemon(storage=storage, database={"url": url})
try:
    after = snapshot(d2, ids)
    for ar in ids:
        check(after[ar] == before[ar], f"{ar}: status, view URL ({after[ar][1]} {after[ar][2][-40:]}) and viewer page "
              "as before")
    st, _, js = d2.upload(photo_bytes("pictarize.jpg"), sample_mp4())
    check(d2.wait_status(js["arId"], timeout=120)["status"] == "ready", "the restored arcd makes new projects")
finally:
    d2.cleanup()
    os.unlink(d.config)
    shutil.rmtree(work, ignore_errors=True)
finish()
