"""Helpers for arcd's integration tests: a real `arcd serve` against a real
PostgreSQL (the tests run inside pg_virtualenv, which sets PGHOST & co.),
HTTP through the standard library, multipart bodies, and the checks every
test shares. Python's standard library only."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

ARCD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/arcd"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")

failures = 0
passes = 0


def check(cond, what):
    global failures, passes
    if cond:
        passes += 1
        print("ok   " + what, flush=True)
    else:
        failures += 1
        print("FAIL " + what, flush=True)
    return cond


def finish():
    print(f"{passes} passed, {failures} failed", flush=True)
    sys.exit(1 if failures else 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sample_mp4():
    """A real 3 s H.264/AAC clip (360x240) that the video stage can copy."""
    with open(os.path.join(DATA, "sample.mp4"), "rb") as f:
        return f.read()


def camera_clip(image, out):
    """8 s of a 640x480 camera at 15 fps looking at `image` printed 330 px
    wide, turned 14 degrees, in perspective, on a grey table (a .y4m for
    Chromium's fake camera)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x8a8a84:size=640x480:rate=15",
         "-loop", "1", "-framerate", "15", "-i", image, "-filter_complex",
         "[1]scale=330:-2,rotate=14*PI/180:c=0x8a8a84:ow=rotw(14*PI/180):oh=roth(14*PI/180)[p];"
         "[0][p]overlay=(W-w)/2:(H-h)/2:shortest=1,"
         "perspective=x0=60:y0=30:x1=600:y1=0:x2=0:y2=480:x3=640:y3=440:sense=destination,format=yuv420p",
         "-t", "8", out], check=True)


def fake_mp4(size=20000):
    """An MP4 by its magic bytes only (ftyp isom): enough for the upload's checks."""
    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    return head + os.urandom(size - len(head))


def psql(sql):
    out = subprocess.run(["psql", "-Atqc", sql], capture_output=True, text=True, check=True)
    return out.stdout.strip()


# The admin token every test daemon gets through $ARCD_ADMIN_TOKEN, and that
# Daemon.request() sends on /api/ routes unless told otherwise.
ADMIN_TOKEN = "test-admin-token-0123456789"


class Daemon:
    def __init__(self, storage=None, admin_token=ADMIN_TOKEN, env=None, pass_fds=(), port=None, **config):
        """env: variables added to the daemon's environment; pass_fds:
        descriptors it inherits (as from a careless parent); port: the one
        to listen on (a free one by default)."""
        self.port = port or free_port()
        self.admin_token = admin_token
        self.extra_env = dict(env or {})
        self.pass_fds = tuple(pass_fds)
        self.storage = storage or tempfile.mkdtemp(prefix="arcd-storage-")
        cfg = {
            "server": {"listen": f"127.0.0.1:{self.port}", "publicUrl": f"http://127.0.0.1:{self.port}"},
            "storage": {"dir": self.storage},
            "workers": {"count": 2},
            "queue": {"pollSeconds": 1, "retryBaseSeconds": 0},
            "viewer": {"template": os.path.join(ROOT, "config", "viewer.html"),
                       "vendorDir": os.path.join(ROOT, "var", "vendor")},
            "app": {"dir": os.path.join(ROOT, "src", "app")},
        }
        for section, values in config.items():
            if values is None:  # a section left out (an older arcd's config)
                cfg.pop(section, None)
            else:
                cfg.setdefault(section, {}).update(values)
        fd, self.config = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f)
        self.log = tempfile.NamedTemporaryFile(prefix="arcd-log-", suffix=".txt", delete=False)
        self.proc = None
        self.start()

    def start(self):
        env = dict(os.environ)
        for k in ("ARCD_LISTEN", "ARCD_STORAGE_DIR", "ARCD_WORKERS", "ARCD_POOL_SIZE", "ARCD_PUBLIC_URL", "DATABASE_URL"):
            env.pop(k, None)
        env.pop("ARCD_ADMIN_TOKEN", None)
        if self.admin_token:
            env["ARCD_ADMIN_TOKEN"] = self.admin_token
        env.update(self.extra_env)
        self.proc = subprocess.Popen([ARCD, "serve", "--config", self.config], stdout=self.log, stderr=self.log, env=env,
                                     pass_fds=self.pass_fds)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                st, _, _ = self.request("GET", "/healthz")
                if st == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("arcd serve did not start:\n" + self.logs())

    def logs(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, timeout=30, token=ADMIN_TOKEN):
        """token: sent as a bearer token on /api/ routes (None: no header)."""
        headers = dict(headers or {})
        if token is not None and path.startswith("/api/"):
            headers.setdefault("Authorization", f"Bearer {token}")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def json(self, method, path, **kw):
        st, h, data = self.request(method, path, **kw)
        try:
            return st, h, json.loads(data) if data else None
        except ValueError:
            return st, h, data

    def post_form(self, path, fields, files, token=ADMIN_TOKEN):
        """POSTs multipart/form-data: fields {name: value}, then files
        [(name, filename, content type, bytes)] in order."""
        boundary = "arcd" + uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                 + str(value).encode() + b"\r\n" for name, value in (fields or {}).items()]
        for name, filename, ctype, data in files:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.json("POST", path, body=body, token=token,
                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def upload(self, photo, video, fields=None, photo_name="photo.jpg", video_name="clip.mp4", token=ADMIN_TOKEN):
        files = []
        if photo is not None:
            files.append(("photo", photo_name, "application/octet-stream", photo))
        if video is not None:
            files.append(("video", video_name, "video/mp4", video))
        return self.post_form("/api/ar/create-demo", fields, files, token)

    def create(self, pairs, fields=None, token=ADMIN_TOKEN):
        """POST /api/ar/create with (photo, video) pairs (video may be None)."""
        files = []
        for photo, video in pairs:
            files.append(("photo", "p", "application/octet-stream", photo))
            if video is not None:
                files.append(("video", "v", "video/mp4", video))
        return self.post_form("/api/ar/create", fields, files, token)

    def wait_status(self, ar_id, want=("ready", "error"), timeout=60):
        deadline = time.time() + timeout
        js = None
        while time.time() < deadline:
            st, _, js = self.json("GET", f"/api/ar/status/{ar_id}?wait=5")
            if st == 200 and js["status"] in want:
                return js
            time.sleep(0.05)
        return js

    def metric(self, name):
        _, _, text = self.request("GET", "/metrics", headers={"Authorization": f"Bearer {self.admin_token}"})
        total = 0.0
        for line in text.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def tmp_files(self):
        found = []
        for dirpath, _, files in os.walk(os.path.join(self.storage, "tmp")):
            found += [os.path.join(dirpath, f) for f in files]
        return found

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self):
        self.kill(signal.SIGTERM)
        return self.proc.returncode

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def cleanup(self):
        # A clean stop, so that a sanitizer build reports what it found at
        # exit (LeakSanitizer runs then): any report fails the test.
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        logs = self.logs()
        for what in ("ERROR: LeakSanitizer", "ERROR: AddressSanitizer", "runtime error:"):
            if what in logs:
                at = logs.index(what)
                check(False, f"the daemon's sanitizer report: {logs[max(0, at - 200):at + 3000]}")
        self.kill()
        os.unlink(self.config)
        shutil.rmtree(self.storage, ignore_errors=True)


def photo_bytes(name="card.png"):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()
