"""End-to-end harness: runs a registry server and talks to it over HTTP.

The suite targets `strata serve` by default ($STRATA_BIN, default
../../build/strata). With STRATA_E2E_TARGET=distribution it runs Distribution's
`docker-registry` (the reference implementation) instead, so the tests can be
checked against it: a test that fails there encodes our quirk, not the spec.

Against strata every /v2/ request needs a registry token (issue 3). After the
first start the harness reads the bootstrap operator key (<data>/operator.key)
and mints an all-access registry token offline with `strata token registry`;
Server.client() sends it as Bearer on every request unless a request names its
own Authorization (or None to send none). Real clients (skopeo, podman) get
`operator:<key>` from Server.registry_creds() and go through the token
endpoint like any deployment. Against Distribution nothing is authenticated.

Server(serve_args=[...]) (or a ServerTestCase's `serve_args` attribute)
passes extra flags to `strata serve`, e.g. --max-concurrent-builds.

Contract: Server owns one process and one temporary data directory; the data
directory (with its keys, so minted tokens stay valid) survives
stop()/kill9()/start() and is removed by cleanup(). Client opens one
connection per request (no shared state, safe from many threads). Nothing here
listens on anything but 127.0.0.1.
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse

TARGET = os.environ.get("STRATA_E2E_TARGET", "strata")
ON_DISTRIBUTION = TARGET == "distribution"
# Everything an operator may do on the registry, for the harness's own token.
ALL_REGISTRY_ACCESS = ["repository:**:pull,push,delete", "registry:catalog:*"]


def skip_on_distribution(reason):
    """Marks a test whose behaviour Distribution 2.8 does not have.

    Used for strata's deliberate extensions (referrers, sha512, mount without
    `from`, manifest size limit, /healthz, /metrics) and for spec points where
    Distribution deviates; `reason` says which.
    """
    return unittest.skipIf(ON_DISTRIBUTION, "not in Distribution 2.8: " + reason)


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512_digest(data):
    return "sha512:" + hashlib.sha512(data).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tool(cmd, timeout=180, check=True):
    """Runs a client tool (skopeo, podman); returns (exit code, stdout and
    stderr together as text). check: raise unless it exits 0."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=timeout)
    output = proc.stdout.decode(errors="replace")
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(cmd), proc.returncode, output))
    return proc.returncode, output


def skopeo_copy(src, dest, *flags, check=True):
    """`skopeo copy --preserve-digests` over plain HTTP; returns run_tool's."""
    return run_tool(["skopeo", "copy", "--preserve-digests", "--src-tls-verify=false",
                     "--dest-tls-verify=false", *flags, src, dest], check=check)


def poll(probe, done, timeout=2):
    """Calls probe() until done(its value) or timeout; returns the last value.
    For what a server records just after it sent the response (counters, logs)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def default_strata_bin():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("STRATA_BIN") or os.path.join(here, "..", "..", "build", "strata")


class Server:
    """One registry process on a free port with a data dir kept across restarts."""

    def __init__(self, target=TARGET, serve_args=()):
        self.target = target
        self.serve_args = list(serve_args)  # extra `strata serve` flags
        self.workdir = tempfile.mkdtemp(prefix="strata-e2e-")
        self.data_dir = os.path.join(self.workdir, "data")
        os.mkdir(self.data_dir)
        self.proc = None
        self.port = None
        self._log = None
        self._starts = 0
        self.operator_key = None  # bootstrap operator API key (strata only)
        self.admin_token = None   # all-access registry JWT (strata only)

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    @property
    def base_url(self):
        return "http://" + self.host

    def client(self, token=None):
        """A Client sending `token` (a registry JWT) as Bearer; by default the
        all-access token (nothing on Distribution)."""
        return Client("127.0.0.1", self.port, token or self.admin_token)

    def anonymous_client(self):
        return Client("127.0.0.1", self.port, None)

    def strata(self, *args, check=True):
        """Runs `strata ARGS --data-dir <data>`; returns the CompletedProcess
        (stdout and stderr as text). check: raise unless it exits 0."""
        cmd = [default_strata_bin(), *args, "--data-dir", self.data_dir]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=60, text=True)
        if check and proc.returncode != 0:
            raise RuntimeError("%s exited %d:\n%s%s" % (" ".join(cmd), proc.returncode,
                                                       proc.stdout, proc.stderr))
        return proc

    def mint_registry_token(self, *access, ttl="1h", subject=None):
        """A registry JWT granting exactly `access` (scope strings), minted
        offline from the data directory's key."""
        args = ["token", "registry", "--ttl", ttl]
        for item in access:
            args += ["--access", item]
        if subject:
            args += ["--subject", subject]
        return self.strata(*args).stdout.strip()

    def registry_creds(self):
        """`user:password` for skopeo/podman (--creds), or None when the
        target takes no credentials."""
        return "operator:" + self.operator_key if self.operator_key else None

    def _load_credentials(self):
        """Reads the bootstrap operator key and mints the all-access token,
        once: keys live in the data dir, so both outlive restarts."""
        if self.target == "distribution" or self.operator_key:
            return
        key_file = os.path.join(self.data_dir, "operator.key")
        if not os.path.exists(key_file):
            raise RuntimeError("no %s after start-up:\n%s" % (key_file, self.log_tail()))
        with open(key_file) as f:
            self.operator_key = f.read().strip()
        self.admin_token = self.mint_registry_token(*ALL_REGISTRY_ACCESS)

    def _command(self):
        if self.target == "distribution":
            config = os.path.join(self.workdir, "config.yml")
            with open(config, "w") as f:
                f.write(
                    "version: 0.1\n"
                    "log:\n  level: warn\n"
                    "storage:\n"
                    "  filesystem:\n    rootdirectory: %s\n"
                    "  delete:\n    enabled: true\n"
                    "  maintenance:\n    uploadpurging:\n      enabled: false\n"
                    "http:\n  addr: 127.0.0.1:%d\n  secret: e2e-secret\n"
                    % (self.data_dir, self.port))
            return ["docker-registry", "serve", config]
        return [default_strata_bin(), "serve", "--listen", self.host,
                "--data-dir", self.data_dir, *self.serve_args]

    def _ready_path(self):
        return "/v2/" if self.target == "distribution" else "/healthz"

    def start(self, timeout=20):
        assert self.proc is None, "server already running"
        self.port = free_port()
        self._starts += 1
        self._log = open(os.path.join(self.workdir, "server-%d.log" % self._starts), "wb")
        self.proc = subprocess.Popen(self._command(), stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            try:
                ready = self.anonymous_client().request("GET", self._ready_path(), timeout=2)
            except OSError:
                ready = None
            if ready is not None and ready.status == 200:
                self._load_credentials()
                return self
            time.sleep(0.05)
        self.kill9()
        raise RuntimeError("server not ready within %ss:\n%s" % (timeout, self.log_tail()))

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._closed()

    def kill9(self):
        if self.proc is None:
            return
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._closed()

    def restart(self):
        self.stop()
        return self.start()

    def _closed(self):
        self.proc = None
        self._log.close()

    def log_tail(self, lines=40):
        path = os.path.join(self.workdir, "server-%d.log" % self._starts)
        try:
            with open(path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        # A server that was killed keeps its build-context tmpfs mounted;
        # nothing may stay mounted in a directory that is removed.
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
        for point in reversed(points):
            if point.startswith(self.workdir.rstrip("/") + "/"):
                subprocess.run(["umount", "-l", point], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.workdir, ignore_errors=True)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive
        self.body = body
        self.truncated = False

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body)

    def error_codes(self):
        """Codes of a spec error body; raises if the body is not that shape."""
        doc = self.json()
        return [e["code"] for e in doc["errors"]]

    def __repr__(self):
        return "<%d %s %r>" % (self.status, dict(self.headers), self.body[:300])


class Client:
    def __init__(self, host, port, token=None):
        self.host = host
        self.port = port
        self.token = token  # registry JWT sent as Bearer, or None

    def connect(self, timeout=60):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def with_credentials(self, headers=None):
        """headers plus this client's Bearer token, unless headers name their
        own Authorization; an Authorization of None means send none."""
        merged = dict(headers or {})
        own = [name for name in merged if name.lower() == "authorization"]
        if not own and self.token:
            merged["Authorization"] = "Bearer " + self.token
        for name in own:
            if merged[name] is None:
                del merged[name]
        return merged

    def request(self, method, path, headers=None, body=None, timeout=60):
        """Sends one request with with_credentials(headers). body: bytes, a
        file-like object or an iterator of bytes (streamed; chunked unless
        headers carry Content-Length)."""
        conn = self.connect(timeout)
        try:
            conn.request(method, path, body=body, headers=self.with_credentials(headers))
            resp = conn.getresponse()
            try:
                return Response(resp.status, resp.headers, resp.read())
            except http.client.IncompleteRead as e:
                # A body shorter than its Content-Length: a server bug the
                # caller may assert on (see Response.truncated).
                short = Response(resp.status, resp.headers, e.partial)
                short.truncated = True
                return short
        finally:
            conn.close()

    # Registry helpers. Each returns the final Response; callers assert.

    def start_upload(self, repo, query=""):
        return self.request("POST", "/v2/%s/blobs/uploads/%s" % (repo, query))

    def push_blob_monolithic(self, repo, data, digest=None):
        """Single POST ?digest= with the whole body (201 on success)."""
        digest = digest or sha256_digest(data)
        return self.request("POST", "/v2/%s/blobs/uploads/?digest=%s" % (repo, digest),
                            {"Content-Type": "application/octet-stream"}, data)

    def push_blob_post_put(self, repo, data, digest=None):
        """POST to open an upload, then one PUT ?digest= carrying the body."""
        digest = digest or sha256_digest(data)
        opened = self.start_upload(repo)
        if opened.status != 202:
            return opened
        return self.request("PUT", with_query(upload_path(opened), digest=digest),
                            {"Content-Type": "application/octet-stream"}, data)

    def push_blob_chunked(self, repo, data, chunk_size, digest=None):
        """POST, one PATCH per chunk with Content-Range, then an empty PUT."""
        digest = digest or sha256_digest(data)
        resp = self.start_upload(repo)
        if resp.status != 202:
            return resp
        for offset in range(0, len(data), chunk_size):
            resp = self.patch_chunk(upload_path(resp), data[offset:offset + chunk_size], offset)
            if resp.status != 202:
                return resp
        return self.request("PUT", with_query(upload_path(resp), digest=digest),
                            {"Content-Length": "0"}, b"")

    def patch_chunk(self, location, chunk, offset):
        return self.request("PATCH", location, {
            "Content-Type": "application/octet-stream",
            "Content-Range": "%d-%d" % (offset, offset + len(chunk) - 1),
            "Content-Length": str(len(chunk))}, chunk)

    def push_blob(self, repo, data):
        """Pushes by POST+PUT (works on every target); returns the digest."""
        resp = self.push_blob_post_put(repo, data)
        if resp.status != 201:
            raise AssertionError("blob push to %s failed: %r" % (repo, resp))
        return sha256_digest(data)

    def put_manifest(self, repo, reference, body, media_type):
        return self.request("PUT", "/v2/%s/manifests/%s" % (repo, reference),
                            {"Content-Type": media_type}, body)

    def push_manifest(self, repo, reference, body, media_type):
        resp = self.put_manifest(repo, reference, body, media_type)
        if resp.status != 201:
            raise AssertionError("manifest push to %s:%s failed: %r" % (repo, reference, resp))
        return sha256_digest(body)

    def push_image(self, repo, reference, image):
        """Pushes a fixtures.Image (config, layers, manifest); returns its digest."""
        for blob in image.blobs():
            self.push_blob(repo, blob.data)
        return self.push_manifest(repo, reference, image.manifest, image.media_type)


def upload_path(resp):
    """Path+query of a response's Location (absolute or relative)."""
    location = resp.header("Location")
    if location is None:
        raise AssertionError("no Location in %r" % resp)
    parts = urllib.parse.urlsplit(location)
    return parts.path + ("?" + parts.query if parts.query else "")


def with_query(path, **params):
    sep = "&" if "?" in path else "?"
    return path + sep + urllib.parse.urlencode(params)


class ServerTestCase(unittest.TestCase):
    """Starts one server for the class; tests use distinct repository names."""

    server = None
    serve_args = ()  # extra `strata serve` flags for the class's server

    @classmethod
    def setUpClass(cls):
        # A class cleanup runs even when a subclass's setUpClass fails after
        # this, which tearDownClass would not: no server outlives the tests.
        cls.server = Server(serve_args=cls.serve_args)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()
        cls.client = cls.server.client()

    def assertError(self, resp, status, code):
        """Asserts a spec error response: status and an errors[] entry with
        the code. Every entry has code and message; strata (issue 2) also
        always sends detail, which the spec leaves optional."""
        self.assertEqual(resp.status, status, resp)
        doc = resp.json()
        self.assertIsInstance(doc.get("errors"), list, resp)
        self.assertTrue(doc["errors"], resp)
        for err in doc["errors"]:
            self.assertIn("code", err, resp)
            self.assertIn("message", err, resp)
            if not ON_DISTRIBUTION:
                self.assertIn("detail", err, resp)
        self.assertIn(code, [e["code"] for e in doc["errors"]], resp)
