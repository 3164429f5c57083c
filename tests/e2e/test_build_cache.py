"""The two-tier build cache (issue 6) end to end: real `strata serve`, real
runc builds, the cache read back through the registry API.

Every build here is of one app (APP: FROM the busybox base, four RUN/COPY
steps over two context files, with an ENV between them that folds into the
key chain without an entry of its own), built with SOURCE_DATE_EPOCH so equal
inputs give equal digests.

BuildCacheTest runs the issue's flow on strata's own registry: an operator's
admin build with global_cache_key=node fills cache/global/node with one entry
per RUN/COPY step (an OCI manifest tagged sha256-<key> whose config has the
strata cache-step media type and names the key, layer and writer)
and writes no tenant cache; tenant acme's build of the same app takes every
step from global (same layers, same manifest digest) and fills cache/acme,
and its rebuild takes every step from cache/acme; acme changing the file one
step copies reruns that step and the later ones and leaves global as it was;
tenant beta without a key gets nothing from acme, beta's build token can
neither read cache/acme nor write cache/global/node, and a tenant asking for
an admin build is refused; a global entry whose layer is not the one its
config names is a miss with a warning, and the image is still right.
DistributionCacheTest runs the admin and tenant builds with the cache
repositories on Distribution's docker-registry (`--cache-registry`).

The builds many tests start from (the admin build, acme's first build) run
once per class, in the first test that needs them, so the tests hold in any
order; the test that corrupts a global entry puts it back. Needs what the
build API suite needs (root, runc, busybox-static); DistributionCacheTest also
docker-registry.
"""

import fcntl
import hashlib
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import tempfile
import termios
import unittest
from typing import NamedTuple, Optional

import imagefs
# The module, not its test classes: a test class imported by name would run
# again as part of this suite.
import test_builds_api
from harness import Server, default_strata_bin
from test_builder import SOURCE_DATE_EPOCH
from test_builds_api import BuildServiceTestCase, FilePart, context_tar

GLOBAL_KEY = "node"
GLOBAL_CACHE = "cache/global/" + GLOBAL_KEY
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
STEP_CONFIG = "application/vnd.strata.cache.step.v1+json"
TAG = re.compile(r"^sha256-[0-9a-f]{64}$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
BUILD_ARGS = {"SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)}

APP_DOCKERFILE = """FROM {base}
COPY a.txt /app/a.txt
RUN cat /app/a.txt > /app/from-a && echo step-two >> /app/from-a
ENV APP_MODE=demo
COPY b.txt /app/b.txt
RUN cat /app/a.txt /app/b.txt > /app/joined && echo "$APP_MODE" > /app/mode
CMD ["cat", "/app/joined"]
"""
APP_FILES = {"a.txt": b"alpha\n", "b.txt": b"bravo\n"}
CACHED_KINDS = ("RUN", "COPY")
# The steps with a cache entry, in order, as the log and cache.steps name them.
CACHED_STEPS = [line for line in APP_DOCKERFILE.splitlines() if line.split(" ", 1)[0] in CACHED_KINDS]
# What tells each step's entry apart, whatever canonical form its config's
# instruction takes: the instruction's keyword and a word only it has.
STEP_MARKS = [("COPY", "a.txt"), ("RUN", "from-a"), ("COPY", "b.txt"), ("RUN", "joined")]
B_STEP = 2          # COPY b.txt: the step a change of b.txt invalidates
CORRUPTED_STEP = 1  # RUN ... /app/from-a: the global entry the corruption test forges
# Steps whose parent key is the previous entry's: no metadata step between.
DIRECT_PARENT_STEPS = [1, 3]

LOG_ENDING = {"hit-tenant": "CACHED [tenant]", "hit-global": "CACHED [global]", "miss": "DONE"}
STEP_HEADER = re.compile(r"^#(\d+) \[[^\]]+ \d+/\d+\] (.*)$", re.M)
STEP_END = re.compile(r"^#(\d+) (CACHED \[(?:tenant|global)\]|DONE \d+(?:\.\d+)?s)$", re.M)


def app_files(a=APP_FILES["a.txt"], b=APP_FILES["b.txt"]):
    """{image path: content} of what APP writes, for context files a and b."""
    return {"app/a.txt": a, "app/from-a": a + b"step-two\n", "app/b.txt": b,
            "app/joined": a + b, "app/mode": b"demo\n"}


def cached_step_results(build):
    """[(instruction, result)] of a build's RUN/COPY steps from cache.steps."""
    return [(step["instruction"], step["result"]) for step in build["cache"]["steps"]
            if step["instruction"].split(" ", 1)[0] in CACHED_KINDS]


def log_step_endings(log):
    """{instruction: (step number, ending)} of the log's RUN/COPY steps;
    ending is "CACHED [tenant]", "CACHED [global]", "DONE" or None."""
    endings = {int(n): "DONE" if how.startswith("DONE") else how for n, how in STEP_END.findall(log)}
    return {text: (int(n), endings.get(int(n))) for n, text in STEP_HEADER.findall(log)
            if text.split(" ", 1)[0] in CACHED_KINDS}


class AppRun(NamedTuple):
    """A finished build of APP and the cache repositories around it."""
    build: dict          # GET /builds/{id}
    log: str             # GET /builds/{id}/logs
    caches_before: dict  # {cache repository: sorted tags} before the build
    caches_after: dict   # the same after it


class CacheEntry(NamedTuple):
    tag: str
    body: bytes          # the manifest as stored
    content_type: Optional[str]
    manifest: dict
    config: dict


class CacheFlow:
    """Builds of APP and reads of the cache, for a BuildServiceTestCase whose
    `cache_client` is a harness Client of the registry the cache lives on
    (allowed to list the catalog and read every cache repository)."""

    _admin = None  # AppRun of the class's admin build, once made
    _acme = None   # AppRun of acme's first build, once made

    # --- builds ---

    def app_build(self, key, files=None, **fields):
        """Builds APP (context files `files` over APP_FILES, BUILD_ARGS,
        extra form fields) with API key `key`; asserts it is ready; returns
        (build document, log text)."""
        doc = self.submit(APP_DOCKERFILE, {**APP_FILES, **(files or {})}, key=key,
                          build_args=BUILD_ARGS, **fields)
        build = self.wait_final(doc["id"], key)
        log = self.api("GET", "/builds/%s/logs" % doc["id"], key).body.decode(errors="replace")
        self.assertEqual(build["status"], "ready", "%s\n%s" % (build, log))
        return build, log

    def recorded_app_build(self, key, **fields):
        before = self.cache_repositories()
        build, log = self.app_build(key, **fields)
        return AppRun(build, log, before, self.cache_repositories())

    def admin_build(self):
        """The operator's admin build of APP with key node, once per class."""
        cls = type(self)
        if cls._admin is None:
            cls._admin = self.recorded_app_build(self.server.operator_key, is_admin_build="true",
                                                 global_cache_key=GLOBAL_KEY)
        return cls._admin

    def acme_build(self):
        """acme's first build of APP with key node, after the admin build,
        once per class."""
        cls = type(self)
        if cls._acme is None:
            self.admin_build()
            cls._acme = self.recorded_app_build(self.acme_key, global_cache_key=GLOBAL_KEY)
        return cls._acme

    # --- the cache registry ---

    def cache_repositories(self):
        """{repository: sorted tags} of every cache/ repository."""
        resp = self.cache_client.request("GET", "/v2/_catalog?n=1000")
        self.assertEqual(resp.status, 200, resp)
        names = resp.json().get("repositories") or []
        return {name: self.tags(name) for name in names if name.startswith("cache/")}

    def tags(self, repo):
        resp = self.cache_client.request("GET", "/v2/%s/tags/list?n=1000" % repo)
        self.assertEqual(resp.status, 200, resp)
        return sorted(resp.json().get("tags") or [])

    def blob(self, repo, digest):
        resp = self.cache_client.request("GET", "/v2/%s/blobs/%s" % (repo, digest))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual("sha256:" + hashlib.sha256(resp.body).hexdigest(), digest)
        return resp.body

    def entry(self, repo, tag):
        resp = self.cache_client.request("GET", "/v2/%s/manifests/%s" % (repo, tag), {"Accept": imagefs.ACCEPT})
        self.assertEqual(resp.status, 200, resp)
        manifest = resp.json()
        config = json.loads(self.blob(repo, manifest["config"]["digest"]))
        return CacheEntry(tag, resp.body, resp.header("Content-Type"), manifest, config)

    def manifest_digests(self, repo):
        """{tag: digest of the manifest it points at}."""
        return {tag: "sha256:" + hashlib.sha256(self.entry(repo, tag).body).hexdigest()
                for tag in self.tags(repo)}

    def entries_by_step(self, repo, tags):
        """The entries of `tags` in repo, one per APP step, in step order."""
        self.assertEqual(len(tags), len(CACHED_STEPS), "one entry per RUN/COPY step: %s" % tags)
        entries = [self.entry(repo, tag) for tag in tags]
        ordered = []
        for keyword, word in STEP_MARKS:
            matching = [e for e in entries if e.config.get("instruction", "").split(" ", 1)[0].upper() == keyword
                        and word in e.config["instruction"]]
            self.assertEqual(len(matching), 1, "entries for %s %s: %s"
                             % (keyword, word, [e.config.get("instruction") for e in entries]))
            ordered.append(matching[0])
        return ordered

    # --- assertions ---

    def assertStepResults(self, build, log, expected):
        """APP's RUN/COPY steps ended as `expected` (per step a result or a
        tuple of allowed ones) in cache.steps and in the log alike, and the
        totals count cache.steps."""
        reported = cached_step_results(build)
        self.assertEqual([instruction for instruction, _ in reported], CACHED_STEPS, build["cache"])
        endings = log_step_endings(log)
        for (instruction, result), allowed in zip(reported, expected):
            allowed = allowed if isinstance(allowed, tuple) else (allowed,)
            self.assertIn(result, allowed, "%s: %s" % (instruction, build["cache"]))
            self.assertEqual(endings.get(instruction, (None, None))[1], LOG_ENDING[result],
                             "log ending of %s:\n%s" % (instruction, log))
        steps = build["cache"]["steps"]
        for step in steps:
            self.assertIsInstance(step["duration_ms"], int, step)
            self.assertGreaterEqual(step["duration_ms"], 0, step)
        counted = [sum(1 for step in steps if step["result"] == name) for name in ("hit-tenant", "hit-global", "miss")]
        totals = build["cache"]["totals"]
        self.assertEqual([totals["hit_tenant"], totals["hit_global"], totals["miss"]], counted, totals)

    def assertExported(self, log, repo, exported, present):
        self.assertRegex(log, r"(?m)^#\d+ \[cache 1/1\] export to %s$" % re.escape(repo))
        self.assertRegex(log, r"(?m)^#\d+ exported %s entries \(%d already present\)$" % (exported, present))

    def assertCacheEntries(self, repo, tags, build, tenant, admin):
        """`tags` of repo are APP's entries as the contract describes them,
        written by `build`, holding the image's step layers; returns them in
        step order."""
        entries = self.entries_by_step(repo, tags)
        image = imagefs.pull(self.client, "builds/" + build["id"], build["manifest_digest"])
        step_layers = image.manifest["layers"][-len(CACHED_STEPS):]
        step_diff_ids = image.config["rootfs"]["diff_ids"][-len(CACHED_STEPS):]
        for entry, image_layer, diff_id in zip(entries, step_layers, step_diff_ids):
            with self.subTest(repo=repo, tag=entry.tag):
                self.assertRegex(entry.tag, TAG)
                self.assertEqual((entry.content_type or "").split(";")[0], OCI_MANIFEST)
                self.assertEqual(entry.manifest["schemaVersion"], 2)
                self.assertEqual(entry.manifest.get("mediaType", OCI_MANIFEST), OCI_MANIFEST)
                self.assertEqual(entry.manifest["config"]["mediaType"], STEP_CONFIG)
                config = entry.config
                self.assertEqual(config["schema"], 1)
                self.assertEqual(config["key"], "sha256:" + entry.tag[len("sha256-"):])
                self.assertRegex(config["parent"], DIGEST)
                layer = config["layer"]
                self.assertIsNotNone(layer, "every APP step changes the filesystem")
                self.assertEqual(len(entry.manifest["layers"]), 1, entry.manifest)
                descriptor = entry.manifest["layers"][0]
                for field in ("mediaType", "digest", "size"):
                    self.assertEqual(layer[field], descriptor[field], field)
                self.assertEqual(layer["digest"], image_layer["digest"])
                self.assertEqual(layer["diff_id"], diff_id)
                self.assertEqual(config["history"]["empty_layer"], False)
                self.assertTrue(config["history"]["created_by"])
                written = config["written_by"]
                self.assertEqual((written["build"], written["tenant"], written["admin"]),
                                 (build["id"], tenant, admin))
                head = self.cache_client.request("HEAD", "/v2/%s/blobs/%s" % (repo, layer["digest"]))
                self.assertEqual(head.status, 200, "the entry's layer is in %s: %r" % (repo, head))
        # The key chain: a step right after another has that step's key as
        # parent; the first step's parent (derived from the base image) is
        # no entry's key.
        self.assertNotIn(entries[0].config["parent"], [e.config["key"] for e in entries])
        for step in DIRECT_PARENT_STEPS:
            self.assertEqual(entries[step].config["parent"], entries[step - 1].config["key"], CACHED_STEPS[step])
        return entries

    def assertAppFiles(self, build, **files):
        """The build's image holds what APP writes for context `files`;
        returns its filesystem."""
        fs = imagefs.pull(self.client, "builds/" + build["id"], build["manifest_digest"]).filesystem()
        for path, content in app_files(**files).items():
            self.assertIn(path, fs)
            self.assertEqual(fs[path].sha256, hashlib.sha256(content).hexdigest(), path)
        return fs

    # --- the flow both registries go through ---

    def check_admin_build_fills_only_global(self):
        admin = self.admin_build()
        self.assertStepResults(admin.build, admin.log, ["miss"] * len(CACHED_STEPS))
        self.assertExported(admin.log, GLOBAL_CACHE, len(CACHED_STEPS), 0)
        self.assertNotIn(GLOBAL_CACHE, admin.caches_before)
        changed = {repo for repo, tags in admin.caches_after.items() if admin.caches_before.get(repo) != tags}
        self.assertEqual(changed, {GLOBAL_CACHE}, "an admin build writes only the global cache of its key")
        self.assertCacheEntries(GLOBAL_CACHE, admin.caches_after[GLOBAL_CACHE], admin.build, None, True)
        self.assertAppFiles(admin.build)

    def check_tenant_build_is_served_from_global(self):
        admin, acme = self.admin_build(), self.acme_build()
        self.assertStepResults(acme.build, acme.log, ["hit-global"] * len(CACHED_STEPS))
        self.assertEqual(acme.build["layers"], admin.build["layers"])
        self.assertEqual(acme.build["manifest_digest"], admin.build["manifest_digest"])
        self.assertAppFiles(acme.build)
        self.assertNotIn("cache/acme", acme.caches_before)
        self.assertExported(acme.log, "cache/acme", len(CACHED_STEPS), 0)
        acme_tags = acme.caches_after["cache/acme"]
        self.assertEqual(acme_tags, admin.caches_after[GLOBAL_CACHE])
        self.assertEqual(acme.caches_after[GLOBAL_CACHE], admin.caches_after[GLOBAL_CACHE],
                         "a tenant build does not write the global cache")
        tenant_entries = self.assertCacheEntries("cache/acme", acme_tags, acme.build, "acme", False)
        global_entries = self.entries_by_step(GLOBAL_CACHE, admin.caches_after[GLOBAL_CACHE])
        self.assertEqual([e.config["layer"]["digest"] for e in tenant_entries],
                         [e.config["layer"]["digest"] for e in global_entries])


class BuildCacheTest(CacheFlow, BuildServiceTestCase):
    """The cache on strata's own registry."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.beta_key = cls.create_key("beta")
        cls.gamma_key = cls.create_key("gamma")
        cls.cache_client = cls.server.client()

    def test_admin_build_fills_the_global_cache_of_its_key_and_no_tenant_cache(self):
        self.check_admin_build_fills_only_global()

    def test_tenant_build_with_the_key_takes_every_step_from_global_and_fills_its_own_cache(self):
        self.check_tenant_build_is_served_from_global()

    def test_tenant_rebuild_takes_every_step_from_its_own_cache(self):
        acme = self.acme_build()
        tags_before = self.tags("cache/acme")
        build, log = self.app_build(self.acme_key, global_cache_key=GLOBAL_KEY)
        self.assertStepResults(build, log, ["hit-tenant"] * len(CACHED_STEPS))
        self.assertEqual(build["manifest_digest"], acme.build["manifest_digest"])
        self.assertExported(log, "cache/acme", 0, len(CACHED_STEPS))
        self.assertEqual(self.tags("cache/acme"), tags_before)

    def test_cli_on_a_terminal_shows_cached_steps(self):
        """`strata build` on a terminal: the live status line counts the
        steps the cache served, and the log keeps their CACHED markers."""
        self.acme_build()
        context = tempfile.mkdtemp(prefix="strata-e2e-cli-cache-")
        self.addCleanup(shutil.rmtree, context, ignore_errors=True)
        files = {**APP_FILES, "Dockerfile": APP_DOCKERFILE.replace("{base}", self.base_ref).encode()}
        for name, data in files.items():
            with open(os.path.join(context, name), "wb") as f:
                f.write(data)
        master, slave = pty.openpty()
        # Wide enough that the status line is not cut before its CACHED count.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
        cmd = [default_strata_bin(), "build", context, "--global-cache-key", GLOBAL_KEY,
               "--build-arg", "SOURCE_DATE_EPOCH=%s" % BUILD_ARGS["SOURCE_DATE_EPOCH"],
               "--server", self.server.base_url, "--api-key", self.acme_key]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        screen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        os.close(master)
        out, _ = proc.communicate(timeout=300)
        text = screen.decode(errors="replace")
        self.assertEqual(proc.returncode, 0, text)
        self.assertRegex(out.decode().strip(), r"/builds/[^@]+@sha256:[0-9a-f]{64}$")
        self.assertEqual(len(re.findall(r"#\d+ CACHED \[tenant\]", text)), len(CACHED_STEPS), text)
        self.assertIn("(%d CACHED)" % len(CACHED_STEPS), text)

    def test_changed_source_reruns_its_step_and_later_ones_and_leaves_global_unchanged(self):
        acme = self.acme_build()
        global_before = self.manifest_digests(GLOBAL_CACHE)
        changed = b"bravo, changed\n"
        build, log = self.app_build(self.acme_key, {"b.txt": changed}, global_cache_key=GLOBAL_KEY)
        self.assertStepResults(build, log, [("hit-tenant", "hit-global")] * B_STEP
                               + ["miss"] * (len(CACHED_STEPS) - B_STEP))
        self.assertAppFiles(build, b=changed)
        self.assertEqual(self.manifest_digests(GLOBAL_CACHE), global_before)
        # The image shares the layers of the steps before b.txt's and no later one.
        base_layers = len(acme.build["layers"]) - len(CACHED_STEPS)
        self.assertEqual(build["layers"][:base_layers + B_STEP], acme.build["layers"][:base_layers + B_STEP])
        self.assertFalse(set(build["layers"][base_layers + B_STEP:]) & set(acme.build["layers"]))
        # acme's cache gains the entries of the rerun steps.
        new_tags = set(self.tags("cache/acme")) - set(acme.caches_after["cache/acme"])
        self.assertEqual(len(new_tags), len(CACHED_STEPS) - B_STEP, new_tags)

    def test_tenant_without_the_key_takes_nothing_from_another_tenants_cache(self):
        self.acme_build()
        build, log = self.app_build(self.beta_key)
        self.assertEqual(build["request"]["cache_scope"], "beta")
        self.assertStepResults(build, log, ["miss"] * len(CACHED_STEPS))
        self.assertNotIn("CACHED", log)
        self.assertAppFiles(build)

    def test_tenant_build_token_cannot_read_another_tenants_cache_nor_write_global(self):
        acme = self.acme_build()
        acme_tag = acme.caches_after["cache/acme"][0]
        acme_entry = self.entry("cache/acme", acme_tag)
        acme_layer = acme_entry.manifest["layers"][0]["digest"]
        base_layer = acme.build["layers"][0]
        global_before = self.manifest_digests(GLOBAL_CACHE)
        forged_tag = "sha256-" + "0" * 64

        # A beta build that may read global (it names the key) and runs long
        # enough for its token to be tried; tearDown cancels it.
        doc = self.submit("FROM {base}\nRUN sleep 60\n", key=self.beta_key, global_cache_key=GLOBAL_KEY)
        token = test_builds_api.BuildsApiTest.written_build_json(self, doc["id"])["registry"]["token"]
        beta = self.server.client(token)
        # The token works for what it is for: reading the global cache.
        listed = beta.request("GET", "/v2/%s/tags/list" % GLOBAL_CACHE)
        self.assertEqual(listed.status, 200, listed)
        self.assertEqual(sorted(listed.json()["tags"]), sorted(global_before))

        manifest_headers = {"Content-Type": OCI_MANIFEST}
        attempts = [
            ("GET", "/v2/cache/acme/tags/list", {}, None),
            ("GET", "/v2/cache/acme/manifests/" + acme_tag, {"Accept": imagefs.ACCEPT}, None),
            ("HEAD", "/v2/cache/acme/manifests/" + acme_tag, {"Accept": imagefs.ACCEPT}, None),
            ("GET", "/v2/cache/acme/blobs/" + acme_layer, {}, None),
            ("HEAD", "/v2/cache/acme/blobs/" + acme_layer, {}, None),
            ("POST", "/v2/%s/blobs/uploads/" % GLOBAL_CACHE, {}, None),
            ("POST", "/v2/%s/blobs/uploads/?mount=%s&from=base/busybox" % (GLOBAL_CACHE, base_layer), {}, None),
            ("PUT", "/v2/%s/manifests/%s" % (GLOBAL_CACHE, forged_tag), manifest_headers, acme_entry.body),
        ]
        for method, path, headers, body in attempts:
            with self.subTest(method=method, path=path):
                resp = beta.request(method, path, headers, body)
                self.assertIn(resp.status, (401, 403), resp)
                self.assertIsNone(resp.header("Location"), resp)
                if method != "HEAD":
                    self.assertTrue(set(resp.error_codes()) <= {"UNAUTHORIZED", "DENIED"}, resp)
                    self.assertNotIn(acme_tag.encode(), resp.body)
        self.assertEqual(self.manifest_digests(GLOBAL_CACHE), global_before)
        self.assertEqual(imagefs.manifest_status(self.client, GLOBAL_CACHE, forged_tag), 404)

    def test_tenant_request_for_an_admin_build_is_refused(self):
        source = FilePart(context_tar({"Dockerfile": ("FROM %s\n" % self.base_ref).encode()}))
        resp = self.post_build([("source", source), ("is_admin_build", "true"),
                                ("global_cache_key", GLOBAL_KEY)], self.beta_key)
        self.assertApiError(resp, 403, "FORBIDDEN", "is_admin_build")

    def test_corrupted_global_entry_is_a_miss_with_a_warning_and_the_image_is_right(self):
        admin = self.admin_build()
        entries = self.entries_by_step(GLOBAL_CACHE, admin.caches_after[GLOBAL_CACHE])
        victim = entries[CORRUPTED_STEP]
        # The forged manifest names another blob of the repository as the
        # step's layer; its config still names the real one.
        forged = dict(victim.manifest, layers=[entries[0].manifest["layers"][0]])
        self.client.push_manifest(GLOBAL_CACHE, victim.tag, json.dumps(forged).encode(), OCI_MANIFEST)
        self.addCleanup(self.client.push_manifest, GLOBAL_CACHE, victim.tag, victim.body, OCI_MANIFEST)

        build, log = self.app_build(self.gamma_key, global_cache_key=GLOBAL_KEY)
        self.assertStepResults(build, log, ["hit-global"] * CORRUPTED_STEP
                               + ["miss"] * (len(CACHED_STEPS) - CORRUPTED_STEP))
        # The entry may be named with its registry's URL in front.
        warning = re.search(r"(?m)^#(\d+) warning: cache entry (?:https?://[^/\s]+/)?%s:%s ignored: .+$"
                            % (re.escape(GLOBAL_CACHE), victim.tag), log)
        self.assertIsNotNone(warning, log)
        step_number = log_step_endings(log)[CACHED_STEPS[CORRUPTED_STEP]][0]
        self.assertEqual(int(warning.group(1)), step_number, log)
        fs = self.assertAppFiles(build)
        admin_fs = imagefs.pull(self.client, "builds/" + admin.build["id"], admin.build["manifest_digest"]).filesystem()
        self.assertEqual(fs, admin_fs)


def distribution_unavailable():
    return None if shutil.which("docker-registry") else "docker-registry (Distribution) is not installed"


@unittest.skipIf(distribution_unavailable(), distribution_unavailable() or "")
class DistributionCacheTest(CacheFlow, BuildServiceTestCase):
    """The cache repositories on Distribution's registry; images and base on
    strata's."""

    @classmethod
    def setUpClass(cls):
        cls.cache_registry = Server(target="distribution")
        cls.addClassCleanup(cls.cache_registry.cleanup)
        cls.cache_registry.start()
        cls.cache_client = cls.cache_registry.client()
        # BuildServiceTestCase.setUpClass fixes its own serve_args, so this
        # class starts its server from the builder fixture directly.
        cls.serve_args = ["--max-concurrent-builds", "2", "--cache-registry", cls.cache_registry.base_url]
        super(BuildServiceTestCase, cls).setUpClass()
        cls.acme_key = cls.create_key("acme")
        cls.builder_work = os.path.join(cls.server.data_dir, "builder")

    def test_admin_and_tenant_builds_use_the_cache_on_distribution(self):
        self.check_admin_build_fills_only_global()
        self.check_tenant_build_is_served_from_global()
        # Nothing of the cache went to strata's own registry.
        resp = self.client.request("GET", "/v2/_catalog?n=1000")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual([name for name in resp.json()["repositories"] if name.startswith("cache/")], [])


if __name__ == "__main__":
    unittest.main()
