"""HTTPS in front of arcd, as deploy/ ships it: deploy/caddy/Caddyfile and
deploy/nginx/arcd.conf, each run with test ports in place of the domain on
127.0.0.1 (Caddy with its own local CA, nginx with a self-signed
certificate), in front of a real arcd whose trustedProxies is 127.0.0.1/32
and whose publicUrl is Caddy's https address. Through each, over HTTPS:
HTTP/2 is negotiated, a demo is uploaded (and a 120 MB one over HTTP/2),
its status long-polled to ready, and its event stream read with arcd's
workers stopped, so an event that arrives proves the proxy passes events
on as they happen, not when the stream ends. Each client connects from its
own loopback address (127.0.0.x): the per-client upload limit shows whose
address arcd counted, through the proxy and around it, with X-Forwarded-For
forged. Then Chromium opens the https view URL under a name that is not
localhost: a secure context over HTTP/2, the camera given, MindAR's
arReady; the same page over plain http is not, and has no camera API.
usage (inside pg_virtualenv): 96_https.py ARCD MKIMAGE"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import harness
from harness import ADMIN_TOKEN, ROOT, Daemon, check, finish, free_port, photo_bytes, sample_mp4

NAME = "arcd.test"  # the site's name: not localhost, so only https makes it a secure context
UPLOADS_PER_MINUTE = 5
WORKERS = 2
work = tempfile.mkdtemp(prefix="arcd-https-")
servers = []  # the proxies' processes, stopped on every way out
held = []  # worker processes stopped by hold_workers()


def on_term(signum, frame):
    sys.exit(1)  # through the finally blocks: the proxies and the daemon stopped, work removed


signal.signal(signal.SIGTERM, on_term)


class Via(Daemon):
    """Daemon's client calls (request, json, upload, wait_status), sent to
    127.0.0.1:port from the local address `source` (any of 127/8: the server
    sees a client of that address); over TLS as the site NAME, the
    certificate checked against `ca`, when ca is given, else plain HTTP."""

    def __init__(self, port, ca=None, source="127.0.0.1"):
        self.port, self.source, self.admin_token = port, source, ADMIN_TOKEN
        self.ctx = ssl.create_default_context(cafile=ca) if ca else None

    def connection(self, timeout=30):
        if self.ctx is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                              source_address=(self.source, 0))
        return Tls(NAME, self.port, timeout=timeout, context=self.ctx, source_address=(self.source, 0))

    def request(self, method, path, body=None, headers=None, timeout=30, token=ADMIN_TOKEN):
        headers = dict(headers or {})
        if token is not None and path.startswith("/api/"):
            headers.setdefault("Authorization", f"Bearer {token}")
        c = self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()


class Tls(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1, whatever the host name: the name goes in SNI, the
    certificate check and the Host header (no DNS for the test's name)."""

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def substitute(text, what, pairs):
    """The shipped file with the test's values in place; each original must
    be there as often as expected, or the test would run something else."""
    for old, new, times in pairs:
        found = text.count(old)
        if not check(found == times, f"{what}: '{old.strip()}' found {found} time(s), as expected ({times})"):
            raise RuntimeError(f"{what} is not the file this test knows")
        text = text.replace(old, new)
    return text


def start(name, argv, env=None):
    """A proxy in the background, its output in work/NAME.log."""
    path = os.path.join(work, name + ".log")
    with open(path, "wb") as log:
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    p.log = path
    servers.append(p)
    return p


def logs(p):
    with open(p.log, errors="replace") as f:
        return f.read()[-3000:]


def wait_up(via, proc, what):
    deadline = time.time() + 20
    last = None
    while time.time() < deadline and proc.poll() is None:
        try:
            st, _, _ = via.request("GET", "/healthz", timeout=5)
            if st == 200:
                return True
            last = st
        except (OSError, ssl.SSLError, http.client.HTTPException) as e:
            last = e
        time.sleep(0.1)
    check(False, f"{what} answers /healthz over HTTPS (last: {last}):\n{logs(proc)}")
    return False


def curl(*args):
    out = subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=120)
    return out.stdout.strip(), out.stderr.strip()


def hold_workers():
    """Stops arcd's worker processes (SIGSTOP): no job can move on."""
    for pid in d.worker_pids():
        os.kill(pid, signal.SIGSTOP)
        held.append(pid)
    return len(held)


def release_workers():
    while held:
        try:
            os.kill(held.pop(), signal.SIGCONT)
        except ProcessLookupError:
            pass


def events_while_held(via, what):
    """A demo uploaded with the workers stopped, its event stream opened: the
    first event must come through while no job can run; then the workers go
    on and the stream must carry the stages up to ready."""
    n = hold_workers()
    try:
        st, _, js = via.upload(photo_bytes("pictarize.jpg"), sample_mp4())
        if not check(st == 202, f"{what}: a demo uploaded over HTTPS ({st} {js})"):
            return None
        c = via.connection(timeout=10)
        c.request("GET", f"/api/ar/events/{js['arId']}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                                                  "Accept": "text/event-stream"})
        events, first = [], None

        def next_event():
            while True:
                line = r.readline()
                if not line:
                    return None
                if line.startswith(b"data: "):
                    events.append(json.loads(line[6:]))
                    return events[-1]

        try:
            r = c.getresponse()
            check(r.status == 200 and r.getheader("Content-Type", "").startswith("text/event-stream"),
                  f"{what}: the event stream opens ({r.status} {r.getheader('Content-Type')})")
            first = next_event()
        except (socket.timeout, TimeoutError) as e:
            print(f"{what}: the event stream: {e!r}", flush=True)
        check(n == WORKERS and first is not None and first["status"] in ("pending", "processing"),
              f"{what}: the first event arrives while the {n} workers are stopped, so the proxy holds nothing "
              f"back until the stream ends ({None if first is None else first['status']})")
        release_workers()
        if first is not None:
            c.sock.settimeout(120)
            while next_event() is not None:
                pass
        c.close()
        stages = []  # (status, stage), each once in a row
        for e in events:
            if not stages or stages[-1] != (e["status"], e.get("stage")):
                stages.append((e["status"], e.get("stage")))
        check(len(events) >= 3 and events[-1]["status"] == "ready"
              and any(st == "processing" and stage for st, stage in stages[:-1]),
              f"{what}: the stream carries the stages, then ends at ready ({len(events)} events: {stages})")
        return js
    finally:
        release_workers()


def no_photo(via, times=1, forwarded_for=None):
    """`times` uploads without a photo from `via` (each costs its client one
    token of the upload limit, then gets 400), with a forged X-Forwarded-For
    if given: the answers' statuses and the last error message."""
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    codes, msg = [], None
    for _ in range(times):
        st, _, js = via.json("POST", "/api/ar/create-demo", body=b"--b--\r\n", headers=headers)
        codes.append(st)
        msg = js.get("error") if isinstance(js, dict) else js
    return codes, msg


def big_upload(port, ca, what):
    """A 120 MB upload over HTTP/2 through a proxy: accepted, all of it stored."""
    big = os.path.join(work, "big.mp4")
    if not os.path.exists(big):
        shutil.copyfile(os.path.join(ROOT, "tests", "data", "sample.mp4"), big)
        os.truncate(big, 120 * 1000 * 1000)
    out, err = curl("--http2", "--cacert", ca, "--resolve", f"{NAME}:{port}:127.0.0.1",
                    "-H", f"Authorization: Bearer {ADMIN_TOKEN}", "-w", "\n%{http_code} %{http_version}",
                    "-F", f"photo=@{os.path.join(ROOT, 'tests', 'data', 'pictarize.jpg')}",
                    "-F", f"video=@{big};type=video/mp4", f"https://{NAME}:{port}/api/ar/create-demo")
    body, _, tail = out.rpartition("\n")
    ok = tail == "202 2"
    stored = 0
    if ok:
        folder = os.path.join(d.storage, "ar-storage", json.loads(body)["arId"])
        stored = max((os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
                      if f.startswith("video")), default=0)
    check(ok and stored == 120 * 1000 * 1000,
          f"{what}: a 120 MB upload over HTTP/2 is accepted and stored whole ({tail} {err} {body[:200]}; "
          f"{stored} bytes stored)")


def run_caddy():
    """deploy/caddy/Caddyfile with the test's globals and address. Returns
    whether Caddy came up, and the id of its demo when that is ready."""
    shipped = os.path.join(ROOT, "deploy", "caddy", "Caddyfile")
    home = os.path.join(work, "caddy-home")
    env = dict(os.environ, HOME=home, XDG_DATA_HOME=os.path.join(home, "data"),
               XDG_CONFIG_HOME=os.path.join(home, "config"))
    adapt = subprocess.run(["caddy", "adapt", "--config", shipped, "--validate"], capture_output=True, text=True,
                           env=env)
    ok = adapt.returncode == 0 and '"level":"warn"' not in adapt.stderr and '"level":"error"' not in adapt.stderr
    check(ok, "deploy/caddy/Caddyfile as shipped adapts and validates, formatted, without a warning"
          + ("" if ok else f": {adapt.stderr[-1500:]}"))
    with open(shipped) as f:
        caddyfile = substitute(f.read(), "Caddyfile", [
            # The test's globals: no admin endpoint, the local CA (tls internal
            # for every site) kept out of the system's trust store, no port 80.
            ("\temail admin@example.com\n",
             "\tadmin off\n\tlocal_certs\n\tskip_install_trust\n\tauto_https disable_redirects\n", 1),
            ("\narcd.example.com {\n", f"\nhttps://{NAME}:{caddy_port} {{\n\tbind 127.0.0.1\n", 1),
            ("\treverse_proxy @events 127.0.0.1:8080 {", f"\treverse_proxy @events 127.0.0.1:{d.port} {{", 1),
            ("\treverse_proxy 127.0.0.1:8080\n", f"\treverse_proxy 127.0.0.1:{d.port}\n", 1),
        ])
    with open(os.path.join(work, "Caddyfile"), "w") as f:
        f.write(caddyfile)
    t = time.time()
    caddy = start("caddy", ["caddy", "run", "--adapter", "caddyfile", "--config", os.path.join(work, "Caddyfile")],
                  env)
    deadline = time.time() + 20
    while not os.path.exists(caddy_ca) and time.time() < deadline and caddy.poll() is None:
        time.sleep(0.05)
    via = Via(caddy_port, caddy_ca)
    if not wait_up(via, caddy, "Caddy"):
        return False, None
    check(True, f"Caddy is up in {time.time() - t:.1f} s; its certificate for {NAME} checks against its local CA")
    out, err = curl("--http2", "--cacert", caddy_ca, "--resolve", f"{NAME}:{caddy_port}:127.0.0.1", "-o", "/dev/null",
                    "-w", "%{http_version}", f"https://{NAME}:{caddy_port}/healthz")
    check(out == "2", f"Caddy: HTTP/2 negotiated (ALPN h2): curl says HTTP/{out} {err}")

    demo = None
    js = events_while_held(via, "Caddy")
    if js:
        check(js["statusUrl"].startswith(f"https://{NAME}:{caddy_port}/api/ar/status/")
              and js["viewUrl"].startswith(f"https://{NAME}:{caddy_port}/ar/view/"),
              f"the URLs arcd hands out are the proxy's https ones (publicUrl): {js['viewUrl']}")
        final = via.wait_status(js["arId"], timeout=60)
        if check(final and final["status"] == "ready", "Caddy: the status, long-polled through it, is ready"):
            demo = js["arId"]

    # Whose address arcd counts: 127.0.0.2 uses its tokens up through Caddy.
    codes, msg = no_photo(Via(caddy_port, caddy_ca, "127.0.0.2"), UPLOADS_PER_MINUTE + 1)
    check(codes == [400] * UPLOADS_PER_MINUTE + [429] and "from 127.0.0.2;" in msg,
          f"through Caddy, arcd limits the client 127.0.0.2, not the proxy ({codes}: {msg})")
    codes, _ = no_photo(Via(caddy_port, caddy_ca, "127.0.0.3"))
    check(codes == [400], f"through Caddy, another client (127.0.0.3) has tokens of its own ({codes})")
    codes, _ = no_photo(Via(d.port, None, "127.0.0.2"))
    check(codes == [429], f"straight to arcd, 127.0.0.2 is the same client, with no token left ({codes})")
    codes, msg = no_photo(Via(caddy_port, caddy_ca, "127.0.0.4"), forwarded_for="127.0.0.2")
    check(codes == [400], f"through Caddy, a client's own X-Forwarded-For naming 127.0.0.2 is not believed "
                          f"({codes} {msg})")
    codes, msg = no_photo(Via(d.port, None, "127.0.0.5"), forwarded_for="127.0.0.2")
    check(codes == [400], f"straight to arcd from an address it does not trust, X-Forwarded-For is not believed "
                          f"({codes} {msg})")
    return True, demo


def run_browser(demo):
    """Chromium on the https view URL through Caddy, and on plain http."""
    env = dict(os.environ, ARCD_NODE=os.path.join(ROOT, "var", "node"))
    viewer = f"/objects/ar-storage/{demo}/index.html"
    out = subprocess.run(
        ["node", os.path.join(os.path.dirname(__file__), "https_check.mjs"), NAME,
         f"https://{NAME}:{caddy_port}/ar/view/{demo}", f"http://{NAME}:{d.port}/ar/view/{demo}", "40"],
        capture_output=True, text=True, env=env, timeout=150, cwd=os.path.join(ROOT, "var", "node"))
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}"
    print("browser:", line[:1500], out.stderr[-600:], flush=True)
    r = json.loads(line)
    s, p = r.get("https", {}), r.get("http", {})
    check(s.get("finalUrl") == f"https://{NAME}:{caddy_port}{viewer}",
          f"Chromium: the https view URL leads to the viewer through Caddy ({s.get('finalUrl')})")
    scripts = s.get("scripts") or []
    check(s.get("isSecureContext") is True and s.get("protocol") == "h2" and len(scripts) == 2
          and all(x.startswith(f"h2 https://{NAME}:{caddy_port}/vendor/") for x in scripts),
          f"Chromium: the page is a secure context, it and its scripts over HTTP/2 ({s.get('isSecureContext')}, "
          f"{s.get('protocol')}, {scripts})")
    check(s.get("arReady") is not None and s.get("arError") is None and s.get("mindarCamera") is True,
          f"Chromium: MindAR gets the camera and fires arReady ({s.get('arReady')} s, camera live "
          f"{s.get('mindarCamera')}, error {s.get('arError')})")
    check(s.get("getUserMedia") == "live", f"Chromium: the page's own getUserMedia gets a live track "
                                           f"({s.get('getUserMedia')})")
    check(s.get("consoleErrors") == [] and s.get("pageErrors") == [],
          f"Chromium: no console or page errors ({s.get('consoleErrors')} {s.get('pageErrors')})")
    check(p.get("finalUrl") == f"http://{NAME}:{d.port}{viewer}" and p.get("isSecureContext") is False
          and p.get("mediaDevices") == "undefined",
          f"Chromium: the same page over plain http is no secure context and has no camera API ({p})")


def run_nginx():
    """deploy/nginx/arcd.conf with a self-signed certificate and test ports,
    inside a main configuration of the test's (every path in work/).
    Returns the certificate and nginx's error log once it is up, else None."""
    root = os.path.join(work, "nginx")
    os.makedirs(os.path.join(root, "acme"))
    cert, key = os.path.join(root, "cert.pem"), os.path.join(root, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    with open(os.path.join(ROOT, "deploy", "nginx", "arcd.conf")) as f:
        conf = substitute(f.read(), "arcd.conf", [
            ("    server 127.0.0.1:8080;\n", f"    server 127.0.0.1:{d.port};\n", 1),
            ("    listen 80;\n", f"    listen 127.0.0.1:{nginx_http_port};\n", 1),
            ("    listen [::]:80;\n", "", 1),
            ("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{nginx_port} ssl http2;\n", 1),
            ("    listen [::]:443 ssl http2;\n", "", 1),
            ("server_name arcd.example.com;", f"server_name {NAME};", 2),
            ("/etc/letsencrypt/live/arcd.example.com/fullchain.pem", cert, 1),
            ("/etc/letsencrypt/live/arcd.example.com/privkey.pem", key, 1),
            ("root /var/www/html;", f"root {root}/acme;", 1),
        ])
    with open(os.path.join(root, "arcd.conf"), "w") as f:
        f.write(conf)
    errlog = os.path.join(root, "error.log")
    with open(os.path.join(root, "nginx.conf"), "w") as f:
        # As root, nginx's workers would run as nobody, who cannot enter work/.
        f.write(("user root;\n" if os.geteuid() == 0 else "") + f"""daemon off;
pid {root}/nginx.pid;
error_log {errlog} warn;
events {{ worker_connections 256; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {root}/arcd.conf;
}}
""")
    argv = ["nginx", "-p", root + "/", "-e", errlog, "-c", os.path.join(root, "nginx.conf")]
    t = subprocess.run(argv + ["-t"], capture_output=True, text=True)
    if not check(t.returncode == 0 and "test is successful" in t.stderr,
                 f"nginx -t accepts deploy/nginx/arcd.conf in a main configuration ({t.stderr.strip()})"):
        return
    nginx = start("nginx", argv)
    via = Via(nginx_port, cert)
    if not wait_up(via, nginx, "nginx"):
        return
    out, err = curl("--http2", "--cacert", cert, "--resolve", f"{NAME}:{nginx_port}:127.0.0.1", "-o", "/dev/null",
                    "-w", "%{http_version}", f"https://{NAME}:{nginx_port}/healthz")
    check(out == "2", f"nginx: HTTP/2 negotiated (ALPN h2): curl says HTTP/{out} {err}")
    st, h, _ = Via(nginx_http_port).request("GET", "/ar/view/x?a=1", headers={"Host": NAME})
    check(st == 301 and h.get("location") == f"https://{NAME}/ar/view/x?a=1",
          f"nginx: plain http is sent to the same URL over https ({st} {h.get('location')})")

    js = events_while_held(via, "nginx")
    if js:
        final = via.wait_status(js["arId"], timeout=60)
        check(final and final["status"] == "ready", "nginx: the status, long-polled through it, is ready")
    codes, msg = no_photo(Via(nginx_port, cert, "127.0.0.6"), UPLOADS_PER_MINUTE + 1)
    check(codes == [400] * UPLOADS_PER_MINUTE + [429] and "from 127.0.0.6;" in msg,
          f"through nginx, arcd limits the client 127.0.0.6, not the proxy ({codes}: {msg})")
    # nginx appends the address it sees to the client's X-Forwarded-For:
    # arcd must take that one, the nearest it does not trust.
    codes, msg = no_photo(Via(nginx_port, cert, "127.0.0.7"), forwarded_for="127.0.0.6")
    check(codes == [400], f"through nginx, a client's own X-Forwarded-For naming 127.0.0.6 is not believed "
                          f"({codes} {msg})")
    return cert, errlog


caddy_port, nginx_port, nginx_http_port = free_port(), free_port(), free_port()
caddy_ca = os.path.join(work, "caddy-home", "data", "caddy", "pki", "authorities", "local", "root.crt")
t0 = time.time()
d = None
try:
    d = Daemon(server={"publicUrl": f"https://{NAME}:{caddy_port}", "trustedProxies": ["127.0.0.1/32"]},
               limits={"uploadsPerMinute": UPLOADS_PER_MINUTE}, workers={"count": WORKERS})
    caddy_up, demo = run_caddy()
    if demo is not None:
        run_browser(demo)
    nginx = run_nginx()
    # Last, as their jobs keep the workers busy: 120 MB bodies through each.
    if caddy_up:
        big_upload(caddy_port, caddy_ca, "Caddy")
    if nginx is not None:
        cert, errlog = nginx
        big_upload(nginx_port, cert, "nginx")
        with open(errlog, errors="replace") as f:
            spooled = [line for line in f if "buffered to a temporary file" in line]
        check(spooled == [], f"nginx passed every upload on as it came, never spooling one to disk ({spooled[:2]})")
    # arcd's request lines (include/arcd/log.h): through either proxy, the
    # client as X-Forwarded-For gave it and the scheme as X-Forwarded-Proto did.
    lines = []
    for line in d.logs().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    proxied = [x for x in lines if x.get("msg") == "request" and x.get("proto") == "https"]
    check(proxied and any(x["client"] == "127.0.0.2" for x in proxied),
          f"arcd logs the proxied requests as https, with the client's own address "
          f"({len(proxied)} lines, clients {sorted({x['client'] for x in proxied})[:4]})")
    direct = [x for x in lines if x.get("msg") == "request" and x.get("proto") == "http"]
    check(len(direct) > 0, f"the requests sent straight to arcd are logged as http ({len(direct)})")
finally:
    release_workers()
    for proc in servers:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if harness.failures:
            print(f"---- {os.path.basename(proc.log)}, its end ----\n{logs(proc)}", flush=True)
    if d is not None:
        d.cleanup()
    shutil.rmtree(work, ignore_errors=True)
print(f"96_https: {time.time() - t0:.1f} s", flush=True)
finish()
