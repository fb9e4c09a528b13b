"""The customer's page speaks to people (config/viewer.html, config/pages/):
Russian or English by the browser's language, the shop's name and colour,
a loading indicator until MindAR is ready and a hint until the print is
found, "Tap for sound"; an Instagram (Facebook, Telegram, WhatsApp, VK,
TikTok) built-in browser gets a page on how to open the link in Safari or
Chrome, with a working copy button; a refused camera, and a page opened
over plain http on a name other than localhost, get a plain explanation
and the video played over the photo without AR. In headless Debian
Chromium, with screenshots in build/customer-test/.
usage (inside pg_virtualenv): 45_customer_page.py ARCD MKIMAGE"""
import json
import os
import shutil
import subprocess
import tempfile

from harness import ROOT, Daemon, camera_clip, check, finish, photo_bytes, sample_mp4

work = tempfile.mkdtemp(prefix="arcd-customer-")
shots = os.path.join(ROOT, "build", "customer-test")
os.makedirs(shots, exist_ok=True)
SHOP = "Фотосалон «Миг» & Co"
UAS = {
    "Instagram": "Mozilla/5.0 (Linux; Android 13; SM-S911B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, "
                 "like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 Instagram 307.0.0.34.111 Android",
    "Facebook": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                "Mobile/15E148 [FBAN/FBIOS;FBAV/436.0.0.35.101;FBBV/536417543;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS]",
    "Telegram": "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0 Mobile "
                "Safari/537.36 Telegram-Android/10.2.0 (Google Pixel 6; Android 12; SDK 31; AVERAGE)",
    "WhatsApp": "Mozilla/5.0 (Linux; Android 11) AppleWebKit/537.36 Chrome/116.0 Mobile Safari/537.36 WhatsApp/2.23",
    "VK": "Mozilla/5.0 (Linux; Android 12; M2101K6G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0 Mobile "
          "Safari/537.36 VKAndroidApp/8.52-15566 (Android 12; SDK 31; arm64-v8a; Xiaomi M2101K6G; ru; 2400x1080)",
    "TikTok": "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Mobile/15E148 musical_ly_31.5.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/ru Region/RU",
}
BROWSERS = {
    "Safari on iPhone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                        "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Chrome on Android": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/120.0.0.0 Mobile Safari/537.36",
}


def browser(mode, url, locale, camera="", shot=""):
    env = dict(os.environ, ARCD_NODE=os.path.join(ROOT, "var", "node"))
    out = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "customer_check.mjs"), mode, url, locale,
                          camera, shot], capture_output=True, text=True, env=env, timeout=150,
                         cwd=os.path.join(ROOT, "var", "node"))
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    print(f"browser ({mode}, {locale}):", line[:900], out.stderr[-300:], flush=True)
    return json.loads(line)


d = Daemon(viewer={"shopName": SHOP, "accentColor": "#c2185b"})
try:
    # ---- the daemon's pages: by Accept-Language ----
    st, h, body = d.request("GET", "/ar/view/00000000-0000-4000-8000-000000000000",
                            headers={"Accept-Language": "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"})
    check(st == 404 and h.get("content-language") == "ru" and "Такой живой фотографии нет" in body.decode()
          and "Accept-Language" in h.get("vary", ""), "an unknown id in Russian for a Russian browser")
    st, h, body = d.request("GET", "/ar/view/00000000-0000-4000-8000-000000000000",
                            headers={"Accept-Language": "de-DE,en;q=0.5,ru;q=0.4"})
    check(st == 404 and h.get("content-language") == "en" and "does not exist" in body.decode(),
          "English when English is preferred to Russian")
    st, h, body = d.request("GET", "/ar/view/00000000-0000-4000-8000-000000000000",
                            headers={"Accept-Language": "fr, ru;q=0"})
    check(h.get("content-language") == "en", "English when neither is wanted (ru;q=0 is a refusal)")
    st, h, body = d.request("GET", "/ar/view/00000000-0000-4000-8000-000000000000",
                            headers={"Accept-Language": "fr, ru; q=0.1, en ;Q=0.9"})
    check(h.get("content-language") == "en",
          f"weights with spaces and an upper-case Q are read (RFC 9110): English at 0.9 over Russian at 0.1 "
          f"({h.get('content-language')})")

    st, _, js = d.upload(photo_bytes("pictarize.jpg"), sample_mp4())
    ar = js["arId"]
    st, h, body = d.request("GET", f"/ar/view/{ar}", headers={"Accept-Language": "ru"})
    check(st in (200, 302) and (st == 302 or "ещё готовится" in body.decode()),
          f"while it is prepared: the pending page in Russian ({st})")
    final = d.wait_status(ar, timeout=120)
    check(final["status"] == "ready", f"the demo is ready ({final.get('errorMessage')})")
    view = final["viewUrl"]

    # ---- an app's built-in browser: how to open it in a real one ----
    for app, ua in UAS.items():
        st, h, body = d.request("GET", f"/ar/view/{ar}", headers={"User-Agent": ua, "Accept-Language": "en"})
        page = body.decode()
        check(st == 200 and "Open this link in Safari or Chrome" in page and view in page
              and "intent://" in page and "package=com.android.chrome" in page
              and f"/objects/ar-storage/{ar}/index.html" in page,
              f"{app}'s browser: the open-in-browser page with the link, Chrome's intent and the viewer ({st})")
    st, h, body = d.request("GET", f"/ar/view/{ar}", headers={"User-Agent": UAS["Instagram"],
                                                               "Accept-Language": "ru-RU,ru;q=0.9"})
    check("Откройте эту ссылку в Safari или Chrome" in body.decode() and h.get("content-language") == "ru",
          "and in Russian")
    for name, ua in BROWSERS.items():
        st, h, _ = d.request("GET", f"/ar/view/{ar}", headers={"User-Agent": ua})
        check(st == 302 and h.get("cache-control") == "no-store" and "User-Agent" in h.get("vary", ""),
              f"{name}: straight to the viewer, uncached, Vary: User-Agent ({st})")
    for bot in ("TelegramBot (like TwitterBot)", "WhatsApp/2.23.20.0 A",
                "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"):
        st, h, _ = d.request("GET", f"/ar/view/{ar}", headers={"User-Agent": bot})
        check(st == 302, f"a link-preview robot ({bot.split('/')[0].split(' ')[0]}) gets the viewer, not the page for people")

    # ---- the viewer page: the shop, both languages ----
    st, _, body = d.request("GET", f"/objects/ar-storage/{ar}/index.html")
    page = body.decode()
    check("Фотосалон «Миг» &amp; Co" in page and "background: #c2185b" in page,
          "the shop's name (escaped) and colour are in the page")
    check("Наведите камеру на фотографию" in page and "Point your camera at the photo" in page
          and "uiScanning: no" in page, "its texts in Russian and English; MindAR's own English overlays off")

    st, _, printed = d.request("GET", f"/objects/ar-storage/{ar}/enhanced-photo.jpg")
    with open(os.path.join(work, "print.jpg"), "wb") as f:
        f.write(printed)
    camera_clip(os.path.join(work, "print.jpg"), os.path.join(work, "cam.y4m"))
    url = f"http://127.0.0.1:{d.port}/ar/view/{ar}"

    r = browser("ar", url, "ru-RU", os.path.join(work, "cam.y4m"), os.path.join(shots, "ru-hint.png"))
    check(r.get("lang") == "ru" and r.get("loadingAtStart") == "Готовим камеру…",
          f"Russian browser: a loading indicator until MindAR is ready ({r.get('loadingAtStart')!r})")
    check(r.get("loadingAfterReady") is None and r.get("hintAfterReady") == "Наведите камеру на фотографию",
          f"then the hint ({r.get('hintAfterReady')!r})")
    check(r.get("shop") == SHOP and r.get("shopColor") == "rgb(194, 24, 91)",
          f"the shop's name and colour on top ({r.get('shop')!r}, {r.get('shopColor')})")
    check(r.get("hintAfterFound") is None and r.get("sound") == "Нажмите, чтобы включить звук",
          f"the print found: the hint gone, 'Tap for sound' in Russian ({r.get('sound')!r})")
    check(r.get("pageErrors") == [] and r.get("consoleErrors") == [],
          f"no page or console errors ({r.get('pageErrors')} {r.get('consoleErrors')})")

    r = browser("denied", url, "en-US", shot=os.path.join(shots, "denied.png"))
    v = r.get("video") or {}
    check(r.get("title") == "The camera is off" and "Allow the camera" in (r.get("text") or "")
          and r.get("button") == "Play the video" and r.get("loading") is None,
          f"camera refused: a plain explanation and a play button ({r.get('title')!r})")
    check(v.get("currentTime", 0) > 0.5 and v.get("paused") is False and v.get("inFigure") == "FIGURE"
          and v.get("photo") == "enhanced-photo.jpg" and v.get("photoLoaded") is True,
          f"the video plays over the photo without AR ({v})")
    check(r.get("pageErrors") == [], f"no page errors ({r.get('pageErrors')} {r.get('consoleErrors')})")

    r = browser("insecure", f"http://shop.test:{d.port}/ar/view/{ar}", "ru-RU", shot=os.path.join(shots, "insecure.png"))
    v = r.get("video") or {}
    check(r.get("secure") is False and r.get("title") == "Камере нужна защищённая ссылка"
          and "https://" in (r.get("text") or "") and v.get("currentTime", 0) > 0.5,
          f"plain http on a public name: why there is no camera, in Russian, and the video plays ({r.get('title')!r}, {v})")
    check(r.get("pageErrors") == [], f"no page errors ({r.get('pageErrors')})")

    r = browser("inapp", url, "en-US", shot=os.path.join(shots, "instagram.png"))
    check(r.get("heading") == "Open this link in Safari or Chrome" and r.get("link") == view
          and (r.get("intent") or "").startswith("intent://127.0.0.1:"),
          f"Instagram's browser: the open-in-browser page ({r.get('heading')!r}, {r.get('intent')})")
    check(r.get("copied") is not None and r.get("clipboard") == view,
          f"its copy button puts the link on the clipboard ({r.get('clipboard')!r})")
    check(r.get("pageErrors") == [] and r.get("consoleErrors") == [],
          f"no page or console errors ({r.get('pageErrors')} {r.get('consoleErrors')})")
finally:
    d.cleanup()
    shutil.rmtree(work, ignore_errors=True)
finish()
