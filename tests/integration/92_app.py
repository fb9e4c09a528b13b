"""The operator's web app (src/app/, src/daemon/app.c), served by arcd itself:
/ and its versioned files with a strict Content-Security-Policy and the other
security headers, brotli and gzip forms, immutable caching by version, 304s,
no inline script; then the staff's path in headless Debian Chromium
(app_check.mjs): a wrong token's message, sign in, a demo created through the
labelled inputs with the upload's progress and the stages live, the result
with its QR code (decoded here with zbarimg to the view URL), the project
found by its order in the list, made permanent, its video replaced (the print
kept), deleted after a confirmation and gone from the list, sign out; axe-core
on every screen; the same (but managing) in Russian. The first load's weight is printed. Screenshots in
build/app-test/.
usage (inside pg_virtualenv): 92_app.py ARCD MKIMAGE"""
import gzip
import json
import os
import re
import subprocess
import tempfile

from harness import ADMIN_TOKEN, DATA, ROOT, Daemon, check, fake_mp4, finish

shots = os.path.join(ROOT, "build", "app-test")
os.makedirs(shots, exist_ok=True)
work = tempfile.mkdtemp(prefix="arcd-app-")


def other_clip():
    """A 2 s 320x240 clip unlike sample.mp4: the replacement video."""
    out = os.path.join(work, "other.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", out], check=True, timeout=60)
    return out


def bad_clip():
    """Bytes that look like an MP4 to the upload and are none to FFmpeg."""
    out = os.path.join(work, "broken.mp4")
    with open(out, "wb") as f:
        f.write(fake_mp4(40000))
    return out


def browser(locale, order):
    env = dict(os.environ, ARCD_NODE=os.path.join(ROOT, "var", "node"))
    out = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "app_check.mjs"),
                          f"http://127.0.0.1:{d.port}", ADMIN_TOKEN, os.path.join(DATA, "pictarize.jpg"),
                          os.path.join(DATA, "sample.mp4"), order, locale, shots, other_clip(),
                          os.path.join(DATA, "card.png"), bad_clip()],
                         capture_output=True, text=True, env=env, timeout=240, cwd=os.path.join(ROOT, "var", "node"))
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    print(f"browser ({locale}):", line[:1500], out.stderr[-500:], flush=True)
    return json.loads(line)


d = Daemon()
try:
    # ---- the page and its files over HTTP ----
    st, h, body = d.request("GET", "/", headers={"Accept-Encoding": "identity"})
    page = body.decode()
    csp = h.get("content-security-policy", "")
    check(st == 200 and h.get("content-type", "").startswith("text/html"), f"/ is the app's page ({st})")
    check("script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
          and "unsafe-inline" not in csp and "unsafe-eval" not in csp and "object-src" not in csp,
          f"a strict Content-Security-Policy ({csp})")
    check(h.get("x-content-type-options") == "nosniff" and h.get("referrer-policy") == "no-referrer"
          and h.get("x-frame-options") == "DENY", "nosniff, no-referrer, no framing")
    check(h.get("cache-control") == "no-cache", f"the page itself is never kept ({h.get('cache-control')})")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    check(scripts and all("src=" in a and not text.strip() for a, text in scripts)
          and not re.search(r"\son[a-z]+=", page), "no inline script and no inline handler in the page")
    m = re.search(r'src="/app/([0-9a-f]{16})/app\.js"', page)
    check(m is not None and "{{" not in page, "the page loads its script from a versioned folder")
    version = m.group(1) if m else "0" * 16
    st, h, body = d.request("GET", f"/app/{version}/app.js", headers={"Accept-Encoding": "gzip"})
    plain = open(os.path.join(ROOT, "src", "app", "app.js"), "rb").read()
    check(st == 200 and h.get("content-encoding") == "gzip" and gzip.decompress(body) == plain
          and h.get("content-type", "").startswith("text/javascript") and "Accept-Encoding" in h.get("vary", ""),
          "app.js in gzip for a client that takes it, the same bytes")
    check("immutable" in h.get("cache-control", "") and "max-age=31536000" in h.get("cache-control", ""),
          f"a versioned file is kept a year ({h.get('cache-control')})")
    check("script-src 'self'" in h.get("content-security-policy", ""), "its policy too")
    etag = h.get("etag", "")
    st, h2, body = d.request("GET", f"/app/{version}/app.js",
                             headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    check(st == 304 and not body, f"If-None-Match: 304 ({st})")
    st, h, body = d.request("GET", f"/app/{version}/app.css", headers={"Accept-Encoding": "br, gzip"})
    check(st == 200 and h.get("content-encoding") == "br" and len(body) < os.path.getsize(
        os.path.join(ROOT, "src", "app", "app.css")), "brotli first when the client takes it")
    st, h, body = d.request("GET", "/app/0123456789abcdef/app.js", headers={"Accept-Encoding": "identity"})
    check(st == 200 and body == plain and h.get("cache-control") == "no-cache",
          "another version's URL gets today's file, not kept")
    for path in (f"/app/{version}/nope.js", f"/app/{version}/index.html", f"/app/{version}/..%2Fapp.js"):
        st, h, body = d.request("GET", path)
        check(st == 404 and h.get("content-type", "").startswith("application/json"), f"{path}: 404 ({st})")
    weight = 0
    for name in os.listdir(os.path.join(ROOT, "src", "app")):
        path = "/" if name == "index.html" else f"/app/{version}/{name}"
        st, h, body = d.request("GET", path, headers={"Accept-Encoding": "br"})
        weight += len(body)
    print(f"the app's first load: {weight} bytes compressed (brotli), every file of src/app", flush=True)
    check(weight < 150 * 1024, f"the first load is under 150 KB compressed ({weight} bytes)")

    # ---- the staff's path, in English then in Russian ----
    # (Under the sanitizers, scripts/test.sh, only the daemon's side above:
    # the browser's part tests Chromium's time there, not arcd's memory.)
    sanitized = os.environ.get("ARCD_TEST_SANITIZED") == "1"
    if sanitized:
        print("the browser's part runs on the Release build only (ARCD_TEST_SANITIZED=1)", flush=True)
    for locale, order in () if sanitized else (("en-US", "ORD-APP-EN-1"), ("ru-RU", "ORD-APP-RU-1")):
        r = browser(locale, order)
        ru = locale.startswith("ru")
        check(not r.get("error"), f"{locale}: the path ran to its end ({(r.get('error') or '')[:300]})")
        check(r.get("lang") == locale[:2] and r.get("signInLabel") == 1,
              f"{locale}: the page speaks {locale[:2]}, the token's field is labelled ({r.get('lang')})")
        if not ru:
            check("not accepted" in (r.get("wrongToken") or ""), f"a wrong token is told so ({r.get('wrongToken')})")
        check(r.get("tokenKept") == {"session": True, "local": []},
              f"{locale}: the token is kept for the tab's session only ({r.get('tokenKept')})")
        check(r.get("photoPreview") is True, f"{locale}: the chosen photo is previewed")
        check(r.get("fitModes") == {"cover": "cover", "fill": "fill", "contain": "contain"},
              f"{locale}: the fit preview lays the video over the photo as each mode ({r.get('fitModes')})")
        check(r.get("layoutShift") is not None and r["layoutShift"] < 0.1,
              f"{locale}: no layout shift as the result arrives (CLS {r.get('layoutShift')})")
        if not ru:
            failed = r.get("failed") or {}
            check(failed.get("title") == "It did not work" and "The job failed: " in failed.get("reason", "")
                  and len(failed.get("reason", "")) > 20 and failed.get("retry") is True and failed.get("qrHidden") is True,
                  f"a video the worker cannot read: the job's reason and Retry ({failed})")
            check(r.get("retrySawProgress") is True and "The job failed: " in (r.get("retried") or ""),
                  f"Retry runs the job again, to the same reason ({r.get('retried')})")
        if ru:
            check(r.get("pairLabels") == ["Фото", "Видео", "Фото 2", "Видео 2"] and r.get("demoDisabled") is True,
                  f"a second pair: its own labelled inputs, the project permanent ({r.get('pairLabels')})")
            multi = r.get("multi") or {}
            check(multi.get("title", "").startswith("Готово") and "Фото в проекте: 2" in multi.get("facts", "")
                  and "Постоянный" in multi.get("facts", ""),
                  f"two pairs make one permanent project with two targets ({multi})")
        seen = r.get("seen") or {}
        uploads = seen.get("upload", [])
        check(any(re.search(r"\d+%", u) for u in uploads) and uploads[-1:] == ["Загружено" if ru else "Uploaded"],
              f"{locale}: the upload's progress, then done ({uploads[:4]} ... {uploads[-1:]})")
        done = set(seen.get("stagesDone", []))
        check({f"stage-{s}" for s in ("photo", "border", "marker", "video", "viewer", "qr", "sheet")} <= done
              and len(set(seen.get("job", []))) >= 3,
              f"{locale}: the stages advance to done, the job's bar moves ({sorted(done)}, {seen.get('job')})")
        texts = r.get("stageTexts") or []
        check(len(texts) == 8 and all(re.search(r"\d+\.\d (s|с)$", x) for x in texts),
              f"{locale}: each stage's time once done ({texts[:3]})")
        check(r.get("title", "").startswith("Готово" if ru else "Ready") and "5" in (r.get("stars") or ""),
              f"{locale}: the result and its stars ({r.get('title')}, {r.get('stars')})")
        qr = subprocess.run(["zbarimg", "-q", "--raw", os.path.join(shots, f"{locale}-qr.png")],
                            capture_output=True, text=True).stdout.strip()
        check(re.fullmatch(rf"http://127\.0\.0\.1:{d.port}/ar/view/[0-9a-f-]{{36}}", qr) is not None
              and "QR" in (r.get("qrAlt") or "") and r.get("copied") == qr,
              f"{locale}: the QR image decodes to the view URL, its alt says QR, Copy link copies it ({qr})")
        dl = r.get("downloads") or {}
        check(all(dl.get(k) for k in ("dl-print", "dl-sheet", "dl-qr-png", "dl-qr-svg", "open-viewer"))
              and dl["dl-sheet"].endswith("/print-sheet.pdf") and dl["dl-qr-svg"].endswith("/qr-code.svg"),
              f"{locale}: print, sheet, QR PNG and SVG downloads, the viewer ({dl})")
        check(r.get("featuresShown") is True, f"{locale}: the feature map over the print")
        check(any(order in x for x in (r.get("listed") or [])), f"{locale}: found in the list by its order")
        if not ru:
            check("Demo" in (r.get("manageBefore") or "") and "Permanent" in (r.get("manageAfter") or "")
                  and r.get("permanentMessage") == "The project is permanent now.",
                  f"Make permanent: the demo is permanent ({r.get('manageBefore')} -> {r.get('manageAfter')})")
            check((r.get("extendMessage") or "").startswith("Expires ") and r.get("manageExtended") != r.get("manageBefore"),
                  f"Extend by 7 days moves the demo's end ({r.get('manageBefore')} -> {r.get('manageExtended')}: "
                  f"{r.get('extendMessage')})")
            check(r.get("deliveries") == ["No notifications sent."], f"its notifications ({r.get('deliveries')})")
            rep, after = r.get("replaced") or {}, r.get("afterReplace") or {}
            check(rep.get("title", "").startswith("Ready") and rep.get("printKept") is True
                  and after.get("isDemo") is False and ".mp4" in (after.get("videoUrl") or ""),
                  f"Replace video: ready again, the print kept, still permanent ({rep}, {after})")
            check(r.get("dialogOpen") is True and r.get("deletedNote") == "Deleted."
                  and r.get("afterDelete") == ["Nothing found."],
                  f"Delete asks first, then the project is gone ({r.get('deletedNote')}, {r.get('afterDelete')})")
        check(r.get("overflow360") is False, f"{locale}: nothing wider than a 360 px phone")
        check(r.get("signedOut") is True, f"{locale}: Sign out forgets the token")
        axe = r.get("axe") or {}
        screens = {"signin", "create", "result", "projects"} | ({"pairs"} if ru else {"manage", "confirm", "failed"})
        check(set(axe) == screens and not any(axe.values()),
              f"{locale}: axe-core finds nothing serious or critical ({axe})")
        check(not r.get("consoleErrors") and not r.get("pageErrors"),
              f"{locale}: no console error, no policy violation ({r.get('consoleErrors')} {r.get('pageErrors')})")
        print(f"{locale}: first load as sent: {r.get('firstLoad')}", flush=True)
finally:
    d.stop()
finish()
