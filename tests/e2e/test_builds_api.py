"""The build service (issue 5) end to end: /builds on a real `strata serve`.

BuildsApiTest starts one server (`--max-concurrent-builds 2`, a secret store
directory) and pushes the busybox base image the builder suite builds with
`strata builder` (test_builder.BuilderTestCase) to <server>/base/busybox:1.
Its tests then drive the API with tenant and operator API keys: every field
and every rejection of POST /builds (nothing stored for a rejected request),
a build to ready with its image, digests, durations and provenance, tenant
isolation, logs, server-sent events (without follow, follow to the end,
resume with Last-Event-ID), cancel of queued and running builds, timeout,
the per-build registry token (its grants against the table of issue 5, and
refused once the build ended), 8 builds at once with concurrency 2, and the
`strata build` / `strata builds` CLI. BuildRestartTest kills a server with
kill -9 while one build runs and another waits, and restarts it.

Every test leaves no build running (tearDown cancels what it started), so
queue positions in one test do not depend on another. Needs what the builder
suite needs (root, runc, busybox-static).
"""

import base64
import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

import imagefs
from harness import Server, default_strata_bin
from test_builder import BuilderTestCase, mounts_under, remove_unless_mounted
from test_builder_smoke import BUSYBOX, builder_unavailable

FINAL = ("ready", "failed", "cancelled")
SHARED_NAMESPACES = ["library/**", "base/**", "mirror/**"]
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def build_mounts(builder_work):
    """Mounts under the builder work dir that belong to builds: all but the
    server's own tmpfs for unpacked contexts (<work>/contexts), which lives
    as long as the server."""
    contexts = os.path.join(builder_work, "contexts")
    return [m for m in mounts_under(builder_work) if m != contexts]


# --- request encoding ---------------------------------------------------------

class FilePart:
    """A multipart file part (the build context)."""

    def __init__(self, data, filename="context.tar.gz", content_type="application/octet-stream"):
        self.data = data
        self.filename = filename
        self.content_type = content_type


def encode_multipart(fields):
    """multipart/form-data (RFC 7578) of [(name, str | bytes | FilePart)];
    returns (content type, body bytes)."""
    boundary = "e2e-" + uuid.uuid4().hex
    body = io.BytesIO()
    for name, value in fields:
        body.write(b"--%s\r\n" % boundary.encode())
        if isinstance(value, FilePart):
            body.write(b'Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                       b"Content-Type: %s\r\n\r\n" % (name.encode(), value.filename.encode(),
                                                      value.content_type.encode()))
            body.write(value.data)
        else:
            body.write(b'Content-Disposition: form-data; name="%s"\r\n\r\n' % name.encode())
            body.write(value.encode() if isinstance(value, str) else value)
        body.write(b"\r\n")
    body.write(b"--%s--\r\n" % boundary.encode())
    return "multipart/form-data; boundary=" + boundary, body.getvalue()


def context_tar(files, gzipped=True):
    """A build context archive of {name: bytes | (bytes, mode)}; directories
    are implied."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files.items():
            data, mode = content if isinstance(content, tuple) else (content, 0o644)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 1700000000
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0) if gzipped else raw.getvalue()


def raw_tar(*entries):
    """A plain tar of hand-made entries: (name, type, data, linkname)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data, link in entries:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.linkname, info.mode = kind, len(data), link, 0o644
            tar.addfile(info, io.BytesIO(data) if data else None)
    return raw.getvalue()


def decode_jwt_payload(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def effective_grants(access):
    """A Docker `access` claim as {repository name: {actions}}, push bringing
    pull with it, as the registry applies it."""
    grants = {}
    for entry in access:
        actions = set(entry["actions"])
        if "*" in actions:
            actions = {"pull", "push", "delete"}
        if "push" in actions:
            actions.add("pull")
        grants.setdefault(entry["name"], set()).update(actions)
    return grants


# --- server-sent events -------------------------------------------------------

class SseEvent:
    def __init__(self, event_id, kind, data):
        self.id = event_id
        self.kind = kind
        self.data = data

    def key(self):
        return (self.id, self.kind, self.data)

    def __repr__(self):
        return "<%s %s %r>" % (self.id, self.kind, self.data[:80])


def read_sse(resp, limit=None):
    """Events of an http.client response as they arrive (WHATWG parsing);
    stops at the end of the stream or after `limit` events with an id."""
    events, with_id = [], 0
    for event in iter_sse(resp):
        events.append(event)
        if event.id is not None:
            with_id += 1
        if limit is not None and with_id >= limit:
            break
    return events


def iter_sse(resp):
    """The events of an http.client response one at a time, as they arrive,
    for streams too long to keep."""
    kind, data, event_id = None, [], None
    while True:
        raw = resp.readline()
        if not raw:
            return
        line = raw.decode().rstrip("\r\n")
        if line == "":
            if data or kind:
                yield SseEvent(event_id, kind or "message", "\n".join(data))
            kind, data, event_id = None, [], None
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field == "event":
            kind = value
        elif field == "id":
            event_id = value


def without_heartbeats(events):
    return [e for e in events if e.kind != "heartbeat"]


@unittest.skipIf(builder_unavailable(), builder_unavailable() or "")
class BuildServiceTestCase(BuilderTestCase):
    """A server with the build service, the busybox base image, tenant keys
    and helpers for the build API."""

    extra_serve_args = ()  # more `strata serve` flags for a subclass's server

    @classmethod
    def setUpClass(cls):
        cls.secrets_dir = tempfile.mkdtemp(prefix="strata-e2e-secrets-")
        cls.addClassCleanup(shutil.rmtree, cls.secrets_dir, True)
        with open(os.path.join(cls.secrets_dir, "npmrc"), "w") as f:
            f.write("registry-token=e2e\n")
        cls.serve_args = ["--max-concurrent-builds", "2", "--secrets-dir", cls.secrets_dir, *cls.extra_serve_args]
        super().setUpClass()
        cls.acme_key = cls.create_key("acme")
        cls.other_key = cls.create_key("globex")
        cls.builder_work = os.path.join(cls.server.data_dir, "builder")

    @classmethod
    def create_key(cls, tenant):
        return cls.server.strata("keys", "create", "--role", "tenant", "--tenant", tenant).stdout.strip()

    def setUp(self):
        self.started = []  # (id, key) of builds this test submitted

    def tearDown(self):
        # Whatever a test leaves running is cancelled, so the next one starts
        # with an empty queue.
        for build_id, _ in self.started:
            self.api("DELETE", "/builds/" + build_id, self.server.operator_key)
        for build_id, _ in self.started:
            self.wait_final(build_id, self.server.operator_key, timeout=60)

    # --- API calls ---

    def api(self, method, path, key, body=None, headers=None, timeout=60):
        headers = dict(headers or {})
        headers["Authorization"] = "Bearer " + key if key else None
        return self.server.anonymous_client().request(method, path, headers, body, timeout=timeout)

    def post_build(self, fields, key):
        content_type, body = encode_multipart(fields)
        return self.api("POST", "/builds", key, body, {"Content-Type": content_type})

    def submit(self, text=None, files=None, key=None, **fields):
        """Submits a build of `files` plus a Dockerfile of `text` ({base} stands
        for the base image) with extra form fields; asserts 202; returns the
        response JSON."""
        key = key or self.acme_key
        context = dict(files or {})
        if text is not None:
            context["Dockerfile"] = text.replace("{base}", self.base_ref).encode()
        form = [("source", FilePart(context_tar(context)))]
        form += [(name, value if isinstance(value, str) else json.dumps(value))
                 for name, value in fields.items()]
        resp = self.post_build(form, key)
        self.assertEqual(resp.status, 202, resp)
        doc = resp.json()
        self.started.append((doc["id"], key))
        self.assertEqual(resp.header("Location"), "/builds/" + doc["id"])
        return doc

    def get_build(self, build_id, key=None):
        resp = self.api("GET", "/builds/" + build_id, key or self.acme_key)
        self.assertEqual(resp.status, 200, resp)
        return resp.json()

    def wait_final(self, build_id, key=None, timeout=180):
        return self.wait_status(build_id, FINAL, key, timeout)

    def wait_status(self, build_id, statuses, key=None, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            build = self.get_build(build_id, key)
            if build["status"] in statuses:
                return build
            if time.monotonic() > deadline:
                self.fail("build %s still %s after %ss (waiting for %s); server log:\n%s"
                          % (build_id, build["status"], timeout, statuses, self.server.log_tail()))
            time.sleep(0.1)

    def wait_running_container(self, build_id, timeout=60):
        """Waits until the build's RUN container runs under the server's runc root."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = subprocess.run(["runc", "--root", os.path.join(self.builder_work, "runc"), "list"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            if "running" in listed.stdout:
                return
            self.assertNotIn(self.get_build(build_id)["status"], FINAL, "build ended before its RUN ran")
            time.sleep(0.1)
        self.fail("no running container for %s within %ss" % (build_id, timeout))

    def list_ids(self, key, query=""):
        resp = self.api("GET", "/builds" + query, key)
        self.assertEqual(resp.status, 200, resp)
        return [b["id"] for b in resp.json()["builds"]]

    def events(self, build_id, key=None, query="", headers=None, limit=None, timeout=180):
        """GET /builds/{id}/events; returns (response status, content type, events)."""
        conn = self.server.anonymous_client().connect(timeout)
        try:
            all_headers = {"Authorization": "Bearer " + (key or self.acme_key), "Accept": "text/event-stream"}
            all_headers.update(headers or {})
            conn.request("GET", "/builds/%s/events%s" % (build_id, query), headers=all_headers)
            resp = conn.getresponse()
            if resp.status != 200:
                return resp.status, resp.getheader("Content-Type"), resp.read()
            return resp.status, resp.getheader("Content-Type"), read_sse(resp, limit)
        finally:
            conn.close()

    def assertNoBuilderLeftovers(self, build_id):
        """No mount under the builder work dir, no runc container, no context."""
        self.assertEqual(build_mounts(self.builder_work), [], "mounts left behind")
        listed = subprocess.run(["runc", "--root", os.path.join(self.builder_work, "runc"), "list", "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(listed.stdout.strip(), "", "runc containers left behind")
        self.assertFalse(os.path.exists(os.path.join(self.builder_work, "contexts", build_id)),
                         "build context left behind")

    def assertApiError(self, resp, status, code=None, field=None):
        self.assertEqual(resp.status, status, resp)
        error = resp.json()["error"]
        self.assertTrue(error.get("message"), resp)
        if code:
            self.assertEqual(error["code"], code, resp)
        if field:
            fields = field if isinstance(field, tuple) else (field,)
            self.assertIn(error.get("field"), fields, resp)
            self.assertTrue(error["message"].startswith(error["field"]), resp)
        return error


class BuildsApiTest(BuildServiceTestCase):
    _ready = None

    # A build to ready, shared by the tests that only read it.
    def ready_build(self):
        cls = type(self)
        if cls._ready is None:
            dockerfile = ("FROM {base}\nARG GREETING=hi\nCOPY hello.txt /hello.txt\n"
                          "RUN echo \"$GREETING\" > /greeting && cat /hello.txt\n")
            context = {"hello.txt": b"hello from the context\n",
                       "Dockerfile": dockerfile.replace("{base}", self.base_ref).encode()}
            archive = context_tar(context)
            resp = self.post_build([("source", FilePart(archive)), ("build_args", '{"GREETING":"hey"}'),
                                    ("global_cache_key", "e2e-key.1")], self.acme_key)
            self.assertEqual(resp.status, 202, resp)
            submitted = resp.json()
            build = self.wait_final(submitted["id"])
            cls._ready = (submitted, build, archive, context["Dockerfile"])
        return cls._ready

    # --- submit and read ---

    def test_submit_answers_202_queued_with_position_and_time(self):
        submitted, _, _, _ = self.ready_build()
        self.assertEqual(set(submitted), {"id", "status", "queue_position", "created_at"})
        self.assertEqual(submitted["status"], "queued")
        self.assertIsInstance(submitted["queue_position"], int)
        self.assertGreaterEqual(submitted["queue_position"], 1)
        self.assertRegex(submitted["created_at"], RFC3339)

    def test_build_reaches_ready_with_image_digests_durations_and_provenance(self):
        submitted, build, archive, dockerfile = self.ready_build()
        build_id = submitted["id"]
        self.assertEqual(build["status"], "ready", build)
        self.assertEqual(build["id"], build_id)
        self.assertEqual(build["tenant"], "acme")
        self.assertIsNone(build.get("error"))
        self.assertRegex(build["manifest_digest"], DIGEST)
        self.assertRegex(build["config_digest"], DIGEST)
        self.assertEqual(build["image"], "%s/builds/%s@%s" % (self.server.host, build_id, build["manifest_digest"]))
        for stamp in ("created_at", "started_at", "finished_at"):
            self.assertRegex(build[stamp], RFC3339, stamp)
        durations = build["durations"]
        for name in ("queued_ms", "build_ms", "total_ms"):
            self.assertIsInstance(durations[name], int, name)
            self.assertGreaterEqual(durations[name], 0, name)
        self.assertGreater(durations["build_ms"], 0)
        self.assertGreaterEqual(durations["total_ms"], durations["build_ms"])
        request = build["request"]
        self.assertEqual(request["cache_scope"], "acme")
        self.assertEqual(request["global_cache_key"], "e2e-key.1")
        self.assertEqual(request["is_admin_build"], False)
        self.assertEqual(request["build_args"], {"GREETING": "hey"})
        self.assertEqual(request["network_mode"], "isolated")
        self.assertEqual(request["timeout_seconds"], 3600)
        self.assertEqual(request["secrets"], [])
        provenance = build["provenance"]
        self.assertRegex(provenance["source_digest"], DIGEST)
        self.assertEqual(provenance["dockerfile_digest"], "sha256:" + hashlib.sha256(dockerfile).hexdigest())
        self.assertEqual([b["ref"] for b in provenance["base_images"]], [self.base_ref])
        base_digest = imagefs.pull(self.client, "base/busybox", "1").digest
        self.assertEqual(provenance["base_images"][0]["digest"], base_digest)
        self.assertTrue(provenance["engine_version"])
        self.assertIn("steps", build["cache"])
        self.assertIn("totals", build["cache"])

        # The image is in the registry under that digest, built as asked.
        image = imagefs.pull(self.client, "builds/" + build_id, build["manifest_digest"])
        self.assertEqual(image.digest, build["manifest_digest"])
        self.assertEqual(image.manifest["config"]["digest"], build["config_digest"])
        self.assertEqual(build["layers"], [l["digest"] for l in image.manifest["layers"]])
        fs = image.filesystem()
        self.assertEqual(fs["hello.txt"].sha256, hashlib.sha256(b"hello from the context\n").hexdigest())
        self.assertEqual(fs["greeting"].sha256, hashlib.sha256(b"hey\n").hexdigest())
        self.assertNoBuilderLeftovers(build_id)

    def test_other_tenant_cannot_see_a_build(self):
        build_id = self.ready_build()[0]["id"]
        for method, path in [("GET", ""), ("GET", "/logs"), ("GET", "/events"), ("DELETE", "")]:
            resp = self.api(method, "/builds/" + build_id + path, self.other_key)
            self.assertApiError(resp, 404, "BUILD_UNKNOWN")
        self.assertNotIn(build_id, self.list_ids(self.other_key))
        self.assertIn(build_id, self.list_ids(self.acme_key))
        self.assertIn(build_id, self.list_ids(self.server.operator_key))
        self.assertEqual(self.get_build(build_id, self.server.operator_key)["status"], "ready")

    def test_tenant_pulls_its_own_build_and_no_one_elses(self):
        build = self.ready_build()[1]
        repo = "builds/" + build["id"]
        digest = build["manifest_digest"]

        def token_for(key):
            query = urllib.parse.urlencode([("service", "strata"), ("scope", "repository:%s:pull" % repo)])
            auth = "Basic " + base64.b64encode(("tenant:" + key).encode()).decode()
            resp = self.server.anonymous_client().request("GET", "/v2/token?" + query, {"Authorization": auth})
            self.assertEqual(resp.status, 200, resp)
            return resp.json()["token"]

        accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
        own = self.server.client(token_for(self.acme_key)).request("GET", "/v2/%s/manifests/%s" % (repo, digest), accept)
        self.assertEqual(own.status, 200, own)
        other = self.server.client(token_for(self.other_key)).request("GET", "/v2/%s/manifests/%s" % (repo, digest), accept)
        self.assertEqual(other.status, 401, other)

    def test_list_filters_by_status_and_pages(self):
        build_id = self.ready_build()[0]["id"]
        self.assertIn(build_id, self.list_ids(self.acme_key, "?status=ready"))
        self.assertNotIn(build_id, self.list_ids(self.acme_key, "?status=failed"))
        resp = self.api("GET", "/builds?limit=1", self.server.operator_key)
        self.assertEqual(resp.status, 200, resp)
        page = resp.json()
        self.assertEqual(len(page["builds"]), 1)
        self.assertIn("next_after", page)

    def test_logs_are_plain_text_with_the_builder_steps(self):
        build_id = self.ready_build()[0]["id"]
        resp = self.api("GET", "/builds/%s/logs" % build_id, self.acme_key)
        self.assertEqual(resp.status, 200, resp)
        self.assertTrue(resp.header("Content-Type").startswith("text/plain"), resp)
        text = resp.body.decode()
        self.assertRegex(text, r"(?m)^#\d+ \[stage-0 \d+/\d+\] RUN echo")
        self.assertIn("hello from the context", text)

    # --- server-sent events ---

    def test_events_without_follow_replay_the_build_and_end(self):
        build_id = self.ready_build()[0]["id"]
        status, content_type, events = self.events(build_id)
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/event-stream"), content_type)
        events = without_heartbeats(events)
        ids = [int(e.id) for e in events]
        self.assertEqual(ids, sorted(set(ids)), "event ids must increase")
        logs = "\n".join(e.data for e in events if e.kind == "log")
        self.assertIn("hello from the context", logs)
        statuses = [json.loads(e.data)["status"] for e in events if e.kind == "status"]
        self.assertEqual(statuses[-1], "ready")
        self.assertIn("building", statuses)
        self.assertEqual(events[-1].kind, "status")

    def test_last_event_id_resumes_after_that_event(self):
        build_id = self.ready_build()[0]["id"]
        _, _, everything = self.events(build_id)
        everything = without_heartbeats(everything)
        self.assertGreater(len(everything), 4)
        middle = everything[len(everything) // 2]
        _, _, rest = self.events(build_id, headers={"Last-Event-ID": middle.id})
        self.assertEqual([e.key() for e in without_heartbeats(rest)],
                         [e.key() for e in everything[len(everything) // 2 + 1:]])
        _, _, by_query = self.events(build_id, query="?last_event_id=" + middle.id)
        self.assertEqual([e.key() for e in without_heartbeats(by_query)],
                         [e.key() for e in everything[len(everything) // 2 + 1:]])

    def test_follow_streams_until_final_and_resume_loses_and_repeats_nothing(self):
        submitted = self.submit("FROM {base}\nRUN for i in 1 2 3 4 5 6; do echo tick-$i; sleep 0.3; done\n")
        build_id = submitted["id"]
        # A first connection reads three events and drops; the second resumes.
        _, _, first = self.events(build_id, query="?follow=true", limit=3)
        first = without_heartbeats(first)
        self.assertEqual(len(first), 3)
        _, _, second = self.events(build_id, query="?follow=true", headers={"Last-Event-ID": first[-1].id})
        followed = first + without_heartbeats(second)
        self.assertEqual(followed[-1].kind, "status")
        self.assertEqual(json.loads(followed[-1].data)["status"], "ready")
        self.assertEqual(self.get_build(build_id)["status"], "ready")
        _, _, replay = self.events(build_id)
        self.assertEqual([e.key() for e in followed], [e.key() for e in without_heartbeats(replay)])
        ticks = [m.group(1) for e in followed if e.kind == "log" for m in [re.search(r"tick-(\d)$", e.data)] if m]
        self.assertEqual(ticks, ["1", "2", "3", "4", "5", "6"])

    # --- fields and rejections ---

    def assertNothingStored(self, before_ids, before_sources):
        self.assertEqual(self.list_ids(self.server.operator_key), before_ids, "a rejected build was stored")
        self.assertEqual(self.stored_sources(), before_sources, "a rejected source was stored")

    def stored_sources(self):
        return sorted(os.listdir(os.path.join(self.server.data_dir, "sources"))) \
            if os.path.isdir(os.path.join(self.server.data_dir, "sources")) else []

    def reject(self, fields, key, status, code=None, field=None):
        before_ids, before_sources = self.list_ids(self.server.operator_key), self.stored_sources()
        resp = self.post_build(fields, key)
        error = self.assertApiError(resp, status, code, field)
        self.assertNothingStored(before_ids, before_sources)
        return error

    def good_source(self):
        return FilePart(context_tar({"Dockerfile": ("FROM %s\n" % self.base_ref).encode()}))

    def test_tenant_cannot_request_an_admin_build(self):
        for value in ("true", "1"):
            with self.subTest(value=value):
                error = self.reject([("source", self.good_source()), ("is_admin_build", value)],
                                    self.acme_key, 403, "FORBIDDEN")
                self.assertIn("is_admin_build requires the operator role", error["message"])

    def test_tenant_cannot_use_another_tenants_cache_scope(self):
        error = self.reject([("source", self.good_source()), ("cache_scope", "globex")],
                            self.acme_key, 403, "FORBIDDEN")
        self.assertIn("cache_scope", error["message"])

    def test_tenant_may_name_its_own_cache_scope_and_is_not_admin(self):
        doc = self.submit("FROM {base}\n", cache_scope="acme", is_admin_build="false")
        build = self.get_build(doc["id"])
        self.assertEqual(build["request"]["cache_scope"], "acme")
        self.assertEqual(build["request"]["is_admin_build"], False)

    def test_operator_may_set_any_cache_scope_and_admin_build(self):
        doc = self.submit("FROM {base}\n", key=self.server.operator_key, cache_scope="globex",
                          is_admin_build="1", global_cache_key="shared")
        request = self.get_build(doc["id"], self.server.operator_key)["request"]
        self.assertEqual((request["cache_scope"], request["is_admin_build"], request["global_cache_key"]),
                         ("globex", True, "shared"))

    def test_every_field_is_recorded_in_the_request(self):
        doc = self.submit(None, {"sub/Dockerfile.app": ("FROM %s AS one\nFROM %s AS two\n"
                                                        % (self.base_ref, self.base_ref)).encode()},
                          dockerfile_path="sub/Dockerfile.app", target="one",
                          build_args={"A": "1", "B": "two"}, secrets=[{"id": "npmrc", "env_var": "NPM_TOKEN"}],
                          timeout_seconds="120", network_mode="egress", global_cache_key="k-1")
        request = self.get_build(doc["id"])["request"]
        self.assertEqual(request["dockerfile_path"], "sub/Dockerfile.app")
        self.assertEqual(request["target"], "one")
        self.assertEqual(request["build_args"], {"A": "1", "B": "two"})
        self.assertEqual(request["secrets"], ["npmrc"])
        self.assertEqual(request["timeout_seconds"], 120)
        self.assertEqual(request["network_mode"], "egress")
        self.assertEqual(request["global_cache_key"], "k-1")
        self.assertEqual(request["cache_scope"], "acme")

    def test_dockerfile_field_overrides_the_context(self):
        doc = self.submit(None, {"Dockerfile": b"this is not a dockerfile\n"},
                          dockerfile="FROM %s\nRUN echo from-field\n" % self.base_ref)
        build = self.wait_final(doc["id"])
        self.assertEqual(build["status"], "ready", build)
        logs = self.api("GET", "/builds/%s/logs" % doc["id"], self.acme_key).body.decode()
        self.assertIn("from-field", logs)

    def test_bad_fields_are_rejected_with_400_naming_the_field(self):
        cases = [
            ("global_cache_key", "Upper"), ("global_cache_key", "-leading"), ("global_cache_key", "a" * 65),
            ("global_cache_key", "has/slash"),
            ("build_args", "not json"), ("build_args", "[1, 2]"), ("build_args", '{"A": 1}'),
            ("is_admin_build", "maybe"),
            ("timeout_seconds", "0"), ("timeout_seconds", "86401"), ("timeout_seconds", "ten"),
            ("network_mode", "host"),
            ("secrets", "not json"), ("secrets", '[{"env_var": "X"}]'), ("secrets", '[{"id": "missing"}]'),
        ]
        for name, value in cases:
            with self.subTest(field=name, value=value):
                self.reject([("source", self.good_source()), (name, value)], self.acme_key, 400, field=name)

    def test_operator_cache_scope_must_be_a_tenant_like_name_other_than_global(self):
        for scope in ("global", "Bad_Scope", "a", "has/slash"):
            with self.subTest(scope=scope):
                self.reject([("source", self.good_source()), ("cache_scope", scope)],
                            self.server.operator_key, 400, field="cache_scope")

    def test_unknown_field_is_rejected(self):
        error = self.reject([("source", self.good_source()), ("colour", "blue")], self.acme_key, 400)
        self.assertIn("colour", error["message"])

    def test_missing_source_is_rejected(self):
        self.reject([("dockerfile", "FROM %s\n" % self.base_ref)], self.acme_key, 400, field="source")

    def test_missing_dockerfile_is_rejected(self):
        self.reject([("source", FilePart(context_tar({"app.txt": b"x\n"})))], self.acme_key, 400,
                    field="dockerfile")
        self.reject([("source", self.good_source()), ("dockerfile_path", "nope/Dockerfile")], self.acme_key, 400,
                    field=("dockerfile", "dockerfile_path"))

    def test_unsafe_source_archives_are_rejected_and_nothing_is_stored(self):
        dockerfile = ("FROM %s\n" % self.base_ref).encode()
        df = ("Dockerfile", tarfile.REGTYPE, dockerfile, "")
        cases = {
            "parent traversal": raw_tar(df, ("../evil", tarfile.REGTYPE, b"evil\n", "")),
            "nested traversal": raw_tar(df, ("a/../../evil", tarfile.REGTYPE, b"evil\n", "")),
            "absolute path": raw_tar(df, ("/etc/evil", tarfile.REGTYPE, b"evil\n", "")),
            "symlink to /etc": raw_tar(df, ("etc", tarfile.SYMTYPE, b"", "/etc")),
            "symlink out of the context": raw_tar(df, ("up", tarfile.SYMTYPE, b"", "../../..")),
            "hard link out of the context": raw_tar(df, ("passwd", tarfile.LNKTYPE, b"", "/etc/passwd")),
            "device file": raw_tar(df, ("null", tarfile.CHRTYPE, b"", "")),
            "not an archive": b"this is not a tar file at all" * 20,
        }
        for name, archive in cases.items():
            for compressed in (False, True):
                with self.subTest(case=name, gzip=compressed):
                    data = gzip.compress(archive) if compressed else archive
                    self.reject([("source", FilePart(data))], self.acme_key, 400, field="source")

    def test_requests_without_an_api_key_are_refused(self):
        content_type, body = encode_multipart([("source", self.good_source())])
        resp = self.api("POST", "/builds", None, body, {"Content-Type": content_type})
        self.assertEqual(resp.status, 401, resp)
        self.assertEqual(self.api("GET", "/builds", None).status, 401)

    # --- cancel and timeout ---

    def test_cancel_of_queued_build_is_immediate_and_of_running_build_cleans_up(self):
        runners = [self.submit("FROM {base}\nRUN sleep 60\n") for _ in range(2)]
        for runner in runners:
            self.wait_status(runner["id"], ("building", "pushing"))
        queued = self.submit("FROM {base}\nRUN echo never\n")
        self.assertEqual(queued["queue_position"], 1)
        resp = self.api("DELETE", "/builds/" + queued["id"], self.acme_key)
        self.assertEqual(resp.status, 202, resp)
        self.assertEqual(resp.json()["status"], "cancelled")
        self.assertEqual(self.get_build(queued["id"])["status"], "cancelled")
        self.assertApiError(self.api("DELETE", "/builds/" + queued["id"], self.acme_key), 409, "BUILD_FINAL")

        self.wait_running_container(runners[0]["id"])
        started = time.monotonic()
        for runner in runners:
            resp = self.api("DELETE", "/builds/" + runner["id"], self.acme_key)
            self.assertEqual(resp.status, 202, resp)
        for runner in runners:
            build = self.wait_final(runner["id"], timeout=30)
            self.assertEqual(build["status"], "cancelled", build)
        self.assertLess(time.monotonic() - started, 20, "cancel must not wait for RUN sleep 60")
        for runner in runners:
            self.assertNoBuilderLeftovers(runner["id"])
            _, _, events = self.events(runner["id"])
            self.assertEqual(json.loads(without_heartbeats(events)[-1].data)["status"], "cancelled")
        self.assertEqual(imagefs.manifest_status(self.client, "builds/" + runners[0]["id"], "latest"), 404)

    def test_timeout_fails_the_build_and_cleans_up(self):
        doc = self.submit("FROM {base}\nRUN sleep 30\n", timeout_seconds="2")
        started = time.monotonic()
        build = self.wait_final(doc["id"], timeout=60)
        self.assertEqual(build["status"], "failed", build)
        self.assertEqual(build["error"], "timeout after 2s")
        self.assertLess(time.monotonic() - started, 25)
        self.assertNoBuilderLeftovers(doc["id"])

    def test_failing_run_fails_the_build_with_the_builders_error(self):
        doc = self.submit("FROM {base}\nRUN echo boom-output && exit 7\n")
        build = self.wait_final(doc["id"])
        self.assertEqual(build["status"], "failed", build)
        self.assertIn("exit code: 7", build["error"])
        logs = self.api("GET", "/builds/%s/logs" % doc["id"], self.acme_key).body.decode()
        self.assertIn("boom-output", logs)
        self.assertNoBuilderLeftovers(doc["id"])

    def test_secret_env_var_and_mount_env_reach_only_the_runs_that_mount_it(self):
        with open(os.path.join(self.secrets_dir, "npmrc"), "rb") as f:
            secret = f.read()
        # The variable holds the file's bytes as is, trailing newline
        # included (as BuildKit does), so compare bytes, not $(cat ...).
        doc = self.submit("FROM {base}\n"
                          "RUN --mount=type=secret,id=npmrc printf %s \"$NPM_TOKEN\" | cmp /run/secrets/npmrc "
                          "&& echo ok > /secret-env-ok\n"
                          "RUN --mount=type=secret,id=npmrc,env=MOUNT_TOKEN,target=/run/secrets/npmrc "
                          "printf %s \"$MOUNT_TOKEN\" | cmp /run/secrets/npmrc "
                          "&& printf %s \"$NPM_TOKEN\" | cmp /run/secrets/npmrc\n"
                          "RUN test -z \"$NPM_TOKEN\"\n",
                          secrets=[{"id": "npmrc", "env_var": "NPM_TOKEN"}])
        build = self.wait_final(doc["id"])
        self.assertEqual(build["status"], "ready", build)
        image = imagefs.pull(self.client, "builds/" + doc["id"], build["manifest_digest"])
        self.assertEqual(image.filesystem()["secret-env-ok"].sha256, hashlib.sha256(b"ok\n").hexdigest())
        env = image.runtime_config.get("Env") or []
        self.assertFalse([e for e in env if e.startswith("NPM_TOKEN=")], env)
        token = secret.strip()
        self.assertNotIn(token, json.dumps(image.config).encode())
        for layer in image.layers:
            self.assertNotIn(token, layer)
        logs = self.api("GET", "/builds/%s/logs" % doc["id"], self.acme_key).body
        self.assertNotIn(token, logs)
        self.assertNoBuilderLeftovers(doc["id"])

    # --- the build's registry token ---

    def written_build_json(self, build_id, timeout=60):
        """The build.json the manager wrote for a running build."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = glob.glob(os.path.join(self.builder_work, "*", build_id, "build.json"))
            if found:
                try:
                    with open(found[0]) as f:
                        return json.load(f)
                except ValueError:
                    pass  # being written
            time.sleep(0.05)
        self.fail("no build.json for %s under %s" % (build_id, self.builder_work))

    def check_build_token(self, key, fields, expected_grants, cache_import, cache_export):
        doc = self.submit("FROM {base}\nRUN sleep 60\n", key=key, **fields)
        build_id = doc["id"]
        config = self.written_build_json(build_id)
        token = config["registry"]["token"]
        claims = decode_jwt_payload(token)
        expected = {name.replace("{id}", build_id): set(actions) for name, actions in expected_grants.items()}
        self.assertEqual(effective_grants(claims["access"]), expected)
        self.assertEqual(claims["sub"], "build:" + build_id)
        self.assertEqual(claims["exp"] - claims["iat"], 3600 + 300)
        self.assertTrue(claims.get("jti"))
        self.assertEqual(config["is_admin_build"], fields.get("is_admin_build") == "true")
        self.assertEqual(config.get("global_cache_key"), fields.get("global_cache_key"))
        self.assertEqual(config["cache_import"], cache_import)
        self.assertEqual(config["cache_export"], cache_export)
        self.assertEqual(config["output"]["repository"], "builds/" + build_id)
        # No credential of the server reaches the builder.
        self.assertNotIn(self.server.operator_key, json.dumps(config))

        v2 = {"Authorization": "Bearer " + token}
        self.assertEqual(self.client.request("GET", "/v2/", v2).status, 200)
        self.assertEqual(self.api("DELETE", "/builds/" + build_id, key).status, 202)
        self.assertEqual(self.wait_final(build_id, key, timeout=30)["status"], "cancelled")
        self.assertEqual(self.client.request("GET", "/v2/", v2).status, 401, "token still valid after the build")
        resp = self.client.request("GET", "/v2/base/busybox/manifests/1", dict(v2, Accept=imagefs.ACCEPT))
        self.assertEqual(resp.status, 401, resp)

    def test_regular_build_token_grants_exactly_its_build_its_cache_and_bases(self):
        shared = {name: {"pull"} for name in SHARED_NAMESPACES}
        self.check_build_token(self.acme_key, {"global_cache_key": "team-k"},
                               {"builds/{id}": {"pull", "push"}, "cache/acme": {"pull", "push"},
                                "cache/global/team-k": {"pull"}, **shared},
                               ["cache/acme", "cache/global/team-k"], "cache/acme")

    def test_regular_build_without_key_gets_no_global_cache(self):
        shared = {name: {"pull"} for name in SHARED_NAMESPACES}
        self.check_build_token(self.acme_key, {},
                               {"builds/{id}": {"pull", "push"}, "cache/acme": {"pull", "push"}, **shared},
                               ["cache/acme"], "cache/acme")

    def test_admin_build_token_writes_only_the_global_cache_of_its_key(self):
        shared = {name: {"pull"} for name in SHARED_NAMESPACES}
        self.check_build_token(self.server.operator_key, {"is_admin_build": "true", "global_cache_key": "team-k"},
                               {"builds/{id}": {"pull", "push"}, "cache/global/team-k": {"pull", "push"}, **shared},
                               ["cache/global/team-k"], "cache/global/team-k")

    # --- queue ---

    def test_eight_builds_with_concurrency_two_all_finish_in_fifo_order(self):
        # Two long-enough builds occupy both slots, so the next six wait.
        first = [self.submit("FROM {base}\nRUN sleep 3 && echo slot-%d > /n\n" % i) for i in range(2)]
        for doc in first:
            self.wait_status(doc["id"], ("building", "pushing"))
        waiting = [self.submit("FROM {base}\nRUN echo waiter-%d > /n\n" % i) for i in range(6)]
        self.assertEqual([doc["queue_position"] for doc in waiting], [1, 2, 3, 4, 5, 6])
        self.assertEqual([self.get_build(doc["id"])["queue_position"] for doc in waiting], [1, 2, 3, 4, 5, 6])
        ids = [doc["id"] for doc in first + waiting]

        most_running, final = 0, {}
        deadline = time.monotonic() + 300
        while len(final) < len(ids) and time.monotonic() < deadline:
            # Read newest first: with FIFO, a build seen started means every
            # older one had started before, so this snapshot cannot show a
            # queued build older than a started one, nor a position out of
            # order, even though the reads happen one after another.
            builds = {i: self.get_build(i) for i in reversed(ids) if i not in final}
            running = sum(1 for b in builds.values() if b["status"] in ("building", "pushing"))
            most_running = max(most_running, running)
            statuses = [builds[i]["status"] for i in ids if i in builds]
            queued = [i for i in ids if i in builds and builds[i]["status"] == "queued"]
            self.assertEqual(statuses[len(statuses) - len(queued):], ["queued"] * len(queued),
                             "a newer build started before an older one: %s" % statuses)
            positions = [builds[i].get("queue_position") for i in queued]
            self.assertEqual(positions, sorted(set(positions)), positions)
            self.assertTrue(all(1 <= p <= 6 for p in positions), positions)
            final.update({i: b for i, b in builds.items() if b["status"] in FINAL})
            time.sleep(0.2)
        self.assertEqual(sorted(final), sorted(ids), "not every build finished")
        self.assertEqual([final[i]["status"] for i in ids], ["ready"] * 8)
        self.assertLessEqual(most_running, 2)
        started = [final[i]["started_at"] for i in ids[2:]]
        self.assertEqual(started, sorted(started), "waiting builds must start in FIFO order")
        digests = {final[i]["manifest_digest"] for i in ids}
        self.assertEqual(len(digests), 8, "each build pushed its own image")

    # --- CLI ---

    def cli(self, *args, key=None, timeout=300):
        cmd = [default_strata_bin(), *args, "--server", self.server.base_url, "--api-key", key or self.acme_key]
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              text=True, timeout=timeout)

    def test_cli_build_honours_dockerignore_and_prints_the_image(self):
        context = os.path.join(self.tmp, "cli-context")
        os.makedirs(os.path.join(context, "secret"))
        files = {"Dockerfile": "FROM %s\nCOPY . /ctx/\nRUN ls /ctx > /listing\n" % self.base_ref,
                 ".dockerignore": "*.log\nsecret/\n", "app.txt": "app\n", "debug.log": "noise\n",
                 "secret/key": "key\n"}
        for name, text in files.items():
            with open(os.path.join(context, name), "w") as f:
                f.write(text)
        proc = self.cli("build", context)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        image = proc.stdout.strip()
        match = re.fullmatch(r"%s/builds/([^@]+)@(sha256:[0-9a-f]{64})" % re.escape(self.server.host), image)
        self.assertIsNotNone(match, proc.stdout)
        self.started.append((match.group(1), self.acme_key))
        self.assertIn("status: ready", proc.stderr)
        self.assertRegex(proc.stderr, r"(?m)^#\d+ \[stage-0 \d+/\d+\] COPY \. /ctx/")
        fs = imagefs.pull(self.client, "builds/" + match.group(1), match.group(2)).filesystem()
        self.assertIn("ctx/app.txt", fs)
        self.assertIn("ctx/Dockerfile", fs)
        self.assertNotIn("ctx/debug.log", fs)
        self.assertNotIn("ctx/secret", fs)

        build_id = match.group(1)
        got = self.cli("builds", "get", build_id)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(json.loads(got.stdout)["image"], image)
        logs = self.cli("builds", "logs", build_id)
        self.assertEqual(logs.returncode, 0, logs.stderr)
        self.assertIn("COPY . /ctx/", logs.stdout)
        listed = self.cli("builds", "list", "--status", "ready")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn(build_id, listed.stdout)
        cancelled = self.cli("builds", "cancel", build_id)
        self.assertNotEqual(cancelled.returncode, 0, "cancelling a ready build must fail")
        hidden = self.cli("builds", "get", build_id, key=self.other_key)
        self.assertNotEqual(hidden.returncode, 0)

    def test_cli_build_of_a_failing_dockerfile_exits_non_zero(self):
        context = os.path.join(self.tmp, "cli-failing")
        os.makedirs(context)
        with open(os.path.join(context, "Dockerfile.fail"), "w") as f:
            f.write("FROM %s\nRUN echo cli-boom && exit 3\n" % self.base_ref)
        proc = self.cli("build", context, "-f", os.path.join(context, "Dockerfile.fail"),
                        "--build-arg", "X=1", "--timeout", "120")
        self.assertNotEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), "")
        self.assertIn("cli-boom", proc.stderr)
        self.assertIn("status: failed", proc.stderr)
        self.assertIn("exit code: 3", proc.stderr)

    def test_cli_build_reports_a_refused_submission(self):
        context = os.path.join(self.tmp, "cli-refused")
        os.makedirs(context)
        with open(os.path.join(context, "Dockerfile"), "w") as f:
            f.write("FROM %s\n" % self.base_ref)
        proc = self.cli("build", context, "--admin")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("is_admin_build requires the operator role", proc.stderr)


@unittest.skipIf(builder_unavailable(), builder_unavailable() or "")
class BuildRestartTest(unittest.TestCase):
    """kill -9 of the server while a build runs and another waits."""

    def setUp(self):
        self.server = Server(serve_args=["--max-concurrent-builds", "1"])
        self.addCleanup(self.cleanup_server)
        self.server.start()
        self.key = self.server.strata("keys", "create", "--role", "tenant", "--tenant", "acme").stdout.strip()
        self.builder_work = os.path.join(self.server.data_dir, "builder")

    def cleanup_server(self):
        self.server.stop()
        remove_unless_mounted(self.server.workdir)

    def api(self, method, path, body=None, headers=None):
        headers = dict(headers or {}, Authorization="Bearer " + self.key)
        return self.server.anonymous_client().request(method, path, headers, body)

    def submit(self, dockerfile, files):
        content_type, body = encode_multipart([("source", FilePart(context_tar(
            dict(files, Dockerfile=dockerfile.encode()))))])
        resp = self.api("POST", "/builds", body, {"Content-Type": content_type})
        self.assertEqual(resp.status, 202, resp)
        return resp.json()["id"]

    def status(self, build_id):
        resp = self.api("GET", "/builds/" + build_id)
        self.assertEqual(resp.status, 200, resp)
        return resp.json()

    def runc_running(self):
        listed = subprocess.run(["runc", "--root", os.path.join(self.builder_work, "runc"), "list"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return "running" in listed.stdout

    def wait(self, probe, what, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if probe():
                return
            time.sleep(0.1)
        self.fail("%s within %ss; server log:\n%s" % (what, timeout, self.server.log_tail()))

    def test_running_build_fails_and_queued_build_runs_after_kill_and_restart(self):
        with open(BUSYBOX, "rb") as f:
            busybox = f.read()
        # No base image: both builds must work on any port the restart picks.
        running = self.submit('FROM scratch\nCOPY busybox /busybox\nRUN ["/busybox", "sleep", "60"]\n',
                              {"busybox": (busybox, 0o755)})
        queued = self.submit("FROM scratch\nCOPY note.txt /note.txt\n", {"note.txt": b"after restart\n"})
        self.wait(self.runc_running, "the first build's RUN did not start")
        self.assertEqual(self.status(queued)["status"], "queued")

        self.server.kill9()
        self.server.start()
        first = self.status(running)
        self.assertEqual((first["status"], first["error"]), ("failed", "interrupted by server restart"))
        self.wait(lambda: self.status(queued)["status"] in FINAL, "the queued build did not finish", 120)
        second = self.status(queued)
        self.assertEqual(second["status"], "ready", second)
        self.assertRegex(second["manifest_digest"], DIGEST)
        # The interrupted builder does not go on running next to the new server.
        self.wait(lambda: not self.runc_running(), "the interrupted build's container still runs", 30)
        self.wait(lambda: build_mounts(self.builder_work) == [], "mounts of the interrupted build remain", 30)
        # Contexts are unpacked on the server's tmpfs, which a kill -9 leaves
        # mounted, the restarted server takes over, and a clean stop removes.
        contexts = os.path.join(self.builder_work, "contexts")
        self.assertIn(contexts, mounts_under(self.builder_work))
        self.server.stop()
        self.assertNotIn(contexts, mounts_under(self.builder_work))
        self.server.start()


if __name__ == "__main__":
    unittest.main()
