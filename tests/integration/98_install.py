"""Install as a service (cmake/install.cmake, deploy/systemd, deploy/debian,
src/config/layout.c, src/daemon/check.c): `cmake --install` into a scratch
prefix, the installed arcd run from another folder finds its settings,
templates, web app and viewer scripts under its prefix (a job's viewer page
loads its scripts: they 404'd when arcd ran outside its checkout), `arcd
check` says pass or fail with the fix, `arcd serve` refuses to start on a
fatal failure (exit 2, 4 for the database); then the Debian package built with
CPack: its control fields (library dependencies, conffiles, maintainer
scripts), its files, and `systemd-analyze verify` of its units in a scratch
root.
usage (inside pg_virtualenv): 98_install.py ARCD MKIMAGE"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from harness import ADMIN_TOKEN, DATA, ROOT, check, finish, free_port, psql, sample_mp4, Daemon

ARCD = os.path.abspath(os.sys.argv[1])
BUILD = os.path.dirname(ARCD)
SANITIZED = os.environ.get("ARCD_TEST_SANITIZED") == "1"
work = tempfile.mkdtemp(prefix="arcd-install-")
os.chmod(work, 0o755)  # the workers' user passes through it (see below)
prefix = os.path.join(work, "prefix")


def run(cmd, env=None, cwd="/", timeout=120):
    e = dict(os.environ)
    for k in ("ARCD_LISTEN", "ARCD_STORAGE_DIR", "ARCD_PUBLIC_URL", "ARCD_CONFIG", "ARCD_ADMIN_TOKEN"):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=cwd, timeout=timeout)


def failed_checks(stderr):
    """serve's log lines of the failed start-up checks: {name: line}."""
    out = {}
    for line in stderr.splitlines():
        try:
            js = json.loads(line)
        except ValueError:
            continue
        if js.get("msg") == "check failed":
            out[js["check"]] = js
    return out


try:
    # ---- cmake --install into a scratch prefix ----
    r = run(["cmake", "--install", BUILD, "--prefix", prefix], timeout=300)
    check(r.returncode == 0, f"cmake --install --prefix {prefix} ({r.stderr.strip()[-300:]})")
    arcd = os.path.join(prefix, "bin", "arcd")
    share = os.path.join(prefix, "share", "arcd")
    for rel in ("bin/arcd", "share/arcd/viewer.html", "share/arcd/pages/not-found.html",
                "share/arcd/pages/ru/not-found.html", "share/arcd/mail/ready.ru.html", "share/arcd/app/index.html",
                "share/arcd/app/app.js", "share/arcd/vendor/aframe.min.js", "share/arcd/vendor/aframe.min.js.br",
                "share/arcd/vendor/mindar-image-aframe.prod.js.gz", "etc/arcd/arcd.json",
                "lib/systemd/system/arcd.service", "lib/systemd/system/arcd-backup.timer",
                "share/doc/arcd/README.md", "share/doc/arcd/config.md"):
        check(os.path.exists(os.path.join(prefix, rel)), f"installed: {rel}")
    etc = os.path.join(prefix, "etc", "arcd", "arcd.json")
    with open(etc) as f:
        shipped = f.read()
    check(shipped.lstrip().startswith("//") and '"publicUrl": ""' in shipped
          and '"trustedProxies": ["127.0.0.1/32", "::1/128"]' in shipped,
          "etc/arcd/arcd.json: commented, no public URL yet, the local proxy trusted")
    with open(os.path.join(prefix, "lib", "systemd", "system", "arcd.service")) as f:
        unit = f.read()
    check(f"ExecStart={arcd} serve --config {etc}" in unit
          and f"ReadWritePaths={prefix}/var/lib/arcd" in unit,
          "the unit names the prefix's program, settings and state folder")

    # ---- the installed arcd, from another folder, with its own files ----
    env = {"ARCD_ADMIN_TOKEN": ADMIN_TOKEN}
    r = run([arcd, "check"], env=env)
    out = r.stdout
    check(r.returncode == 1 and re.search(r"^ok    config     " + re.escape(etc), out, re.M)
          and re.search(r"^FAIL  publicUrl  server.publicUrl is not set", out, re.M)
          and "fix: set server.publicUrl" in out
          and f"scripts {share}/vendor" in out and "ok    compressed" in out and f"template {share}/viewer.html" in out
          and re.search(r"^ok    storage    " + re.escape(prefix + "/var/lib/arcd/storage"), out, re.M),
          f"arcd check from /: the prefix's settings and files; no public URL is a failure with its fix\n{out}")
    port = free_port()
    env.update({"ARCD_PUBLIC_URL": f"http://127.0.0.1:{port}", "ARCD_LISTEN": f"127.0.0.1:{port}"})
    r = run([arcd, "check"], env=env)
    check(r.returncode == 0 and "all passed" in r.stdout and "FAIL" not in r.stdout,
          f"arcd check passes once publicUrl is set ({r.stdout})")
    for line in r.stdout.splitlines()[:9]:
        print("     " + line)

    # arcd serve, started from /, serves a job whose viewer loads its scripts.
    log = open(os.path.join(work, "serve.log"), "w")
    e = dict(os.environ)
    e.update(env)
    e.update({"ARCD_WORKERS": "2"})
    proc = subprocess.Popen([arcd, "serve"], cwd="/", env=e, stdout=log, stderr=log)
    d = Daemon.__new__(Daemon)  # the harness's HTTP helpers on this daemon
    d.port, d.admin_token, d.proc = port, ADMIN_TOKEN, proc
    try:
        for _ in range(200):
            try:
                if d.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        with open(os.path.join(DATA, "pictarize.jpg"), "rb") as f:
            st, _, js = d.upload(f.read(), sample_mp4())
        final = d.wait_status(js["arId"], timeout=120) if st == 202 else {}
        check(final.get("status") == "ready", f"a job on the installed arcd: ready ({st} {js} {final})")
        st, h, _ = d.request("GET", f"/ar/view/{js['arId']}")
        page_url = h.get("location", "")
        st, _, page = d.request("GET", page_url.replace(f"http://127.0.0.1:{port}", ""))
        scripts = re.findall(r'src="([^"]+\.js)"', page.decode())
        codes = [d.request("GET", s.replace(f"http://127.0.0.1:{port}", ""), headers={"Accept-Encoding": "br"})
                 for s in scripts]
        check(len(scripts) == 2 and all(c[0] == 200 and c[1].get("content-encoding") == "br" for c in codes),
              f"its viewer's scripts load, in brotli ({scripts}, {[c[0] for c in codes]})")
        st, h, body = d.request("GET", "/")
        check(st == 200 and b"<html" in body.lower(), "the web app at / from share/arcd/app")
        stored = os.path.join(prefix, "var", "lib", "arcd", "storage", "ar-storage", js["arId"], "marker.mind")
        check(os.path.exists(stored), "the project lives in PREFIX/var/lib/arcd/storage")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    check(proc.returncode == 0, f"SIGTERM: exit 0 ({proc.returncode})")

    # ---- serve refuses to start on a fatal failure, naming it and its fix ----
    os.rename(os.path.join(share, "vendor"), os.path.join(share, "vendor.away"))
    r = run([arcd, "serve"], env=env, timeout=60)
    fc = failed_checks(r.stderr)
    check(r.returncode == 2 and "refusing to start" in r.stderr and "viewer" in fc and fc["viewer"]["fatal"]
          and "scripts/vendor.sh" in fc["viewer"]["fix"],
          f"no viewer scripts: serve exits 2 naming the check and its fix ({r.stderr.strip()[:300]})")
    os.rename(os.path.join(share, "vendor.away"), os.path.join(share, "vendor"))
    r = run([arcd, "serve"], env={**env, "ARCD_PUBLIC_URL": "http://ar.example.com"}, timeout=60)
    check(r.returncode == 2 and "plain http" in failed_checks(r.stderr).get("publicUrl", {}).get("detail", ""),
          f"a plain-http public URL: exit 2 ({r.stderr.strip()[:200]})")
    r = run([arcd, "serve"], env={**env, "ARCD_PUBLIC_URL": "https://127.0.0.1", "ARCD_LISTEN": f"0.0.0.0:{port}"},
            timeout=60)
    check(r.returncode == 2 and "points at this machine" in failed_checks(r.stderr).get("publicUrl", {}).get("detail", ""),
          f"a loopback public URL while listening on every address: exit 2 ({r.stderr.strip()[:200]})")
    r = run([arcd, "serve"], env={**env, "DATABASE_URL": "postgresql://127.0.0.1:1/none"}, timeout=60)
    check(r.returncode == 4 and "cannot connect" in failed_checks(r.stderr).get("database", {}).get("detail", ""),
          f"no database: exit 4 ({r.stderr.strip()[:200]})")
    r = run([arcd, "check"], env={**env, "DATABASE_URL": "postgresql://127.0.0.1:1/none"})
    check(r.returncode == 1 and "FAIL  database" in r.stdout and "skip  tokens" not in r.stdout.split("FAIL")[0],
          "arcd check without a database: exit 1")
    psql("UPDATE arcd_migrations SET version = version + 1000 WHERE version = (SELECT max(version) FROM arcd_migrations)")
    r = run([arcd, "serve"], env=env, timeout=60)
    check(r.returncode == 4 and "newer than this arcd" in r.stderr,
          f"a schema newer than this arcd: serve exits 4 ({r.stderr.strip()[:200]})")
    psql("UPDATE arcd_migrations SET version = version - 1000 WHERE version > 1000")
    # Run as root, the workers run as workers.user: a storage it cannot
    # reach failed every job with "Permission denied"; now a fatal check.
    if os.geteuid() == 0:
        closed = os.path.join(work, "closed")
        os.makedirs(os.path.join(closed, "storage"))
        os.chmod(closed, 0o700)
        r = run([arcd, "serve"], env={**env, "ARCD_STORAGE_DIR": os.path.join(closed, "storage")}, timeout=60)
        check(r.returncode == 2 and f"cannot pass through {closed} (mode 700)"
              in failed_checks(r.stderr).get("storage", {}).get("detail", ""),
              f"a storage the workers' user cannot reach: exit 2 ({r.stderr.strip()[:300]})")
    # The public URL's host is read as an address, after any user@ part
    # (review: "http://127.0.0.1@evil.com" passed as this machine).
    for url, listen, bad in (("http://127.0.0.1@evil.example", f"127.0.0.1:{port}", "plain http"),
                             ("http://127.evil.example", f"127.0.0.1:{port}", "plain http"),
                             ("https://127.0.0.1@evil.example", f"0.0.0.0:{port}", None),
                             ("https://[::ffff:127.0.0.1]:8443", f"0.0.0.0:{port}", "points at this machine"),
                             ("http://[::1]:8080", f"[::1]:{port}", None)):
        r = run([arcd, "check"], env={**env, "ARCD_PUBLIC_URL": url, "ARCD_LISTEN": listen})
        line = next((x for x in r.stdout.splitlines() if "publicUrl" in x), "")
        check((bad is None and line.startswith("ok")) or (bad is not None and line.startswith("FAIL") and bad in line),
              f"publicUrl {url} listening on {listen}: {line.strip()}")
    # Low space is reported but not fatal.
    r = run([arcd, "check", "--config", etc], env=env)
    with open(os.path.join(work, "low.json"), "w") as f:
        f.write(shipped.replace('"minFreeMb": 1024', '"minFreeMb": 1073741824'))
    r = run([arcd, "check", "--config", os.path.join(work, "low.json")], env=env)
    check(r.returncode == 1 and "FAIL  space" in r.stdout and "(not fatal" in r.stdout,
          f"free space below storage.minFreeMb: a failure, not fatal ({r.stdout[-300:]})")
    # A mail template with a field the notifier does not know fails the check
    # as it would fail serve with email on (the check only looked for the files).
    mail = os.path.join(work, "mail")
    shutil.copytree(os.path.join(prefix, "share", "arcd", "mail"), mail)
    with open(os.path.join(mail, "ready.ru.txt"), "a") as f:
        f.write("{{no_such_field}}\n")
    with open(os.path.join(work, "mail.json"), "w") as f:
        f.write(shipped.replace('"templatesDir": ""', json.dumps("templatesDir") + ": " + json.dumps(mail)))
    r = run([arcd, "check", "--config", os.path.join(work, "mail.json")], env=env)
    line = next((x for x in r.stdout.splitlines() if x.startswith("FAIL  viewer")), "")
    check(r.returncode == 1 and "no_such_field" in r.stdout and "ready.ru.txt" in r.stdout,
          f"a mail template with an unknown field fails the viewer check ({line or r.stdout[-300:]})")
    # So does a mistyped field in the web app's index.html, and serve refuses
    # to start on it (the page was served with the field left in).
    app = os.path.join(work, "app")
    shutil.copytree(os.path.join(prefix, "share", "arcd", "app"), app)
    with open(os.path.join(app, "index.html")) as f:
        page = f.read()
    with open(os.path.join(app, "index.html"), "w") as f:
        f.write(page.replace("{{base}}/app.css", "{{bse}}/app.css"))
    with open(os.path.join(work, "app.json"), "w") as f:
        f.write(shipped.replace('"print": {', '"app": {"dir": ' + json.dumps(app) + '},\n  "print": {', 1))
    r = run([arcd, "check", "--config", os.path.join(work, "app.json")], env=env)
    line = next((x for x in r.stdout.splitlines() if x.startswith("FAIL  app")), "")
    check(r.returncode == 1 and "bse" in line, f"a mistyped field in index.html fails the app check ({line or r.stdout[-300:]})")
    r = run([arcd, "serve", "--config", os.path.join(work, "app.json")], env=env, timeout=60)
    check(r.returncode == 2 and "bse" in failed_checks(r.stderr).get("app", {}).get("detail", ""),
          f"serve refuses to start on it ({r.returncode} {r.stderr.strip()[-300:]})")

    # ---- the Debian package ----
    if SANITIZED:
        print("skip the .deb under the sanitizers (the Release pass builds it)")
    else:
        out = os.path.join(work, "deb")
        r = run(["cpack", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", out], cwd=BUILD, timeout=600)
        debs = [f for f in os.listdir(out) if f.endswith(".deb")] if os.path.isdir(out) else []
        check(r.returncode == 0 and len(debs) == 1 and re.fullmatch(r"arcd_\d+\.\d+\.\d+_amd64\.deb", debs[0]),
              f"cpack makes arcd_<version>_amd64.deb ({debs} {r.stderr[-300:]})")
        deb = os.path.join(out, debs[0]) if debs else "/nonexistent"
        info = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
        for dep in ("libpq5", "libuv1", "libavcodec", "libjansson4", "libcairo2", "libseccomp2",
                    "postgresql-client", "adduser", "fonts-dejavu-core"):
            check(dep in info, f"Depends: {dep}")
        ctrl = os.path.join(work, "control")
        subprocess.run(["dpkg-deb", "-e", deb, ctrl], check=True)
        with open(os.path.join(ctrl, "conffiles")) as f:
            check(f.read().split() == ["/etc/arcd/arcd.json"], "conffiles: /etc/arcd/arcd.json")
        with open(os.path.join(ctrl, "postinst")) as f:
            post = f.read()
        check("adduser --system --group" in post and "/var/lib/arcd" in post and "arcd-backup.timer" in post,
              "postinst makes the arcd user and /var/lib/arcd, enables the units")
        r = run(["sh", "-n", os.path.join(ctrl, "postinst")])
        check(r.returncode == 0, "postinst is valid sh")
        listing = run(["dpkg-deb", "-c", deb]).stdout
        for path in ("./usr/bin/arcd", "./etc/arcd/arcd.json", "./usr/lib/systemd/system/arcd.service",
                     "./usr/lib/systemd/system/arcd-backup.service", "./usr/lib/systemd/system/arcd-backup.timer",
                     "./usr/share/arcd/viewer.html", "./usr/share/arcd/vendor/mindar-image-aframe.prod.js.br",
                     "./usr/share/arcd/app/index.html", "./usr/share/arcd/pages/ru/pending.html"):
            check(re.search(r"\s" + re.escape(path) + r"$", listing, re.M) is not None, f"the .deb holds {path}")
        root = os.path.join(work, "root")
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        units = os.path.join(root, "usr", "lib", "systemd", "system")
        with open(os.path.join(units, "arcd.service")) as f:
            unit = f.read()
        for directive in ("User=arcd", "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/arcd",
                          "PrivateTmp=yes", "ProtectHome=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                          "SystemCallArchitectures=native", "MemoryMax=", "Restart=on-failure",
                          "ExecStart=/usr/bin/arcd serve --config /etc/arcd/arcd.json"):
            check(directive in unit, f"arcd.service: {directive}")
        with open(os.path.join(units, "arcd-backup.timer")) as f:
            check("OnCalendar=*-*-* 03:00:00" in f.read(), "arcd-backup.timer: daily at 03:00")
        with open(os.path.join(units, "arcd-backup.service")) as f:
            check("arcd backup /var/lib/arcd/backups --keep-days 30" in f.read(), "arcd-backup.service: 30 days kept")
        # systemd-analyze verify in the scratch root (the units it names from
        # the host's systemd, which the package does not ship).
        for name in os.listdir("/lib/systemd/system"):
            src = os.path.join("/lib/systemd/system", name)
            if not os.path.exists(os.path.join(units, name)) and not os.path.isdir(src):
                shutil.copy2(src, os.path.join(units, name), follow_symlinks=False)
        os.symlink("usr/lib", os.path.join(root, "lib"))
        r = run(["systemd-analyze", "verify", "--root=" + root] +
                [os.path.join(units, u) for u in ("arcd.service", "arcd-backup.service", "arcd-backup.timer")])
        check(r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "",
              f"systemd-analyze verify passes on the units ({r.stderr.strip()[:400]})")
        r = run(["systemd-analyze", "security", "--offline=true", "--root=" + root, os.path.join(units, "arcd.service")])
        score = re.search(r"Overall exposure level for arcd.service: ([0-9.]+) (\S+)", r.stdout)
        check(score is not None and float(score.group(1)) <= 2.8,
              f"systemd-analyze security: exposure {score.group(1) if score else '?'} (2.8 when written)")
        size = os.path.getsize(deb)
        print(f"the package: {debs[0] if debs else '-'}, {size / 1e6:.1f} MB")
finally:
    shutil.rmtree(work, ignore_errors=True)
finish()
