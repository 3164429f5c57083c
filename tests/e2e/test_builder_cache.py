"""The build cache as `strata builder` uses it (issue 6), below the build API:
which inputs change a step's key and which do not, what a failed build
exports, that an export failure does not fail a build, and that unreadable
entries are misses. The end-to-end flows through /builds (admin and tenant
tiers, isolation, Distribution) are in test_build_cache.

Every build here reads and writes one cache repository given in build.json
(cache_import / cache_export); each test uses its own repository, so tests do
not share entries. A step's outcome is read from the result's steps[].cache
("hit-tenant", "miss", ...). Needs what test_builder needs.
"""

import json
import os
import re
import time
import unittest

import imagefs
from test_builder import BuilderTestCase, Case, Mode, SOURCE_DATE_EPOCH

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
STEP_CONFIG = "application/vnd.strata.cache.step.v1+json"

APP = """FROM {base}
ARG FLAVOUR=plain
COPY app/ /app/
RUN echo "$FLAVOUR" > /flavour && cat /app/main.txt > /copy
ENV MODE=prod
RUN echo "$MODE" > /mode
"""
APP_FILES = {".dockerignore": b"app/*.log\n", "app/main.txt": b"main\n", "app/debug.log": b"noise\n"}
# The keyed steps of APP, in order.
APP_STEPS = ["COPY app/ /app/", 'RUN echo "$FLAVOUR" > /flavour && cat /app/main.txt > /copy',
             'RUN echo "$MODE" > /mode']


class BuilderCacheTest(BuilderTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Builds here also read and write cache/** (the build service gives a
        # build exactly its own cache repositories; see test_build_cache).
        cls.token = cls.server.mint_registry_token("repository:base/*:pull,push",
                                                   "repository:builds/*:pull,push",
                                                   "repository:cache/**:pull,push")
        cls.counter = 0

    def cached_build(self, case, cache_repo, expect_ready=True, **overrides):
        """Builds `case` reading and writing `cache_repo`; returns the Build."""
        type(self).counter += 1
        build_id = "%s-%d" % (case.name, self.counter)
        settings = {"cache_import": [cache_repo], "cache_export": cache_repo,
                    "source_date_epoch": SOURCE_DATE_EPOCH}
        settings.update(overrides)
        build = self.run_build(case, build_id, **settings)
        if expect_ready:
            self.assertEqual(build.returncode, 0, "build %s failed:\n%s" % (build_id, build.stderr))
            self.assertEqual(build.result["status"], "ready", build.result)
        build.id = build_id
        return build

    def outcomes(self, build):
        """[(instruction, cache outcome)] of the build's keyed steps."""
        return [(s["instruction"], s["cache"]) for s in build.result["steps"] if "cache" in s]

    def tags(self, repo):
        resp = self.client.request("GET", "/v2/%s/tags/list" % repo)
        if resp.status == 404:
            return []
        self.assertEqual(resp.status, 200, resp)
        return sorted(resp.json()["tags"] or [])

    def assertOutcomes(self, build, expected):
        self.assertEqual(self.outcomes(build), list(zip(APP_STEPS, expected)), build.stderr)

    def test_step_keys_follow_their_inputs_and_nothing_else(self):
        repo = "cache/keys"
        first = self.cached_build(Case("keys", APP, APP_FILES), repo)
        self.assertOutcomes(first, ["miss", "miss", "miss"])
        self.assertEqual(len(self.tags(repo)), 3)

        # Same inputs: every step from the cache, and the very same image.
        same = self.cached_build(Case("keys", APP, APP_FILES), repo)
        self.assertOutcomes(same, ["hit-tenant"] * 3)
        self.assertEqual(same.result["manifest_digest"], first.result["manifest_digest"])
        self.assertEqual(len(re.findall(r"(?m)^#\d+ CACHED \[tenant\]$", same.stderr)), 3, same.stderr)

        # A .dockerignore'd file and a Dockerfile reformatted without changing
        # its meaning do not change any key.
        ignored = dict(APP_FILES, **{"app/debug.log": b"other noise\n"})
        self.assertOutcomes(self.cached_build(Case("keys", APP, ignored), repo), ["hit-tenant"] * 3)

        # A build arg the RUN sees: the COPY before it still hits.
        flavoured = self.cached_build(Case("keys", APP, APP_FILES, {"FLAVOUR": "spicy"}), repo)
        self.assertOutcomes(flavoured, ["hit-tenant", "miss", "miss"])
        fs = imagefs.pull(self.client, "builds/" + flavoured.id, "latest").filesystem()
        self.assertFile(fs, "flavour", b"spicy\n")

        # A file's mode is content: the COPY and everything after it run.
        chmodded = dict(APP_FILES, **{"app/main.txt": Mode(b"main\n", 0o600)})
        self.assertOutcomes(self.cached_build(Case("keys", APP, chmodded), repo), ["miss", "miss", "miss"])

        # An ENV between two steps changes the key of every step after it.
        env = APP.replace("ENV MODE=prod", "ENV MODE=dev")
        dev = self.cached_build(Case("keys", env, APP_FILES), repo)
        self.assertOutcomes(dev, ["hit-tenant", "hit-tenant", "miss"])
        fs = imagefs.pull(self.client, "builds/" + dev.id, "latest").filesystem()
        self.assertFile(fs, "mode", b"dev\n")
        self.assertFile(fs, "copy", b"main\n")

    def test_copy_from_a_stage_follows_that_stages_content(self):
        dockerfile = """FROM {base} AS build
COPY src.txt /src.txt
RUN tr a-z A-Z < /src.txt > /out.txt
FROM {base}
COPY --from=build /out.txt /out.txt
"""
        repo = "cache/stages"
        self.cached_build(Case("stages", dockerfile, {"src.txt": b"hello\n"}), repo)
        again = self.cached_build(Case("stages", dockerfile, {"src.txt": b"hello\n"}), repo)
        self.assertEqual([o for _, o in self.outcomes(again)], ["hit-tenant"] * 3)
        changed = self.cached_build(Case("stages", dockerfile, {"src.txt": b"world\n"}), repo)
        self.assertEqual([o for _, o in self.outcomes(changed)], ["miss"] * 3)
        fs = imagefs.pull(self.client, "builds/" + changed.id, "latest").filesystem()
        self.assertFile(fs, "out.txt", b"WORLD\n")

    def test_failed_build_exports_the_steps_that_succeeded(self):
        repo = "cache/failed"
        failing = APP.replace('RUN echo "$MODE" > /mode', "RUN exit 3")
        build = self.cached_build(Case("failed", failing, APP_FILES), repo, expect_ready=False)
        self.assertNotEqual(build.returncode, 0)
        self.assertEqual(build.result["status"], "failed")
        self.assertIn("exported 2 entries", build.stderr)
        self.assertEqual(len(self.tags(repo)), 2)

        fixed = self.cached_build(Case("failed", APP, APP_FILES), repo)
        self.assertOutcomes(fixed, ["hit-tenant", "hit-tenant", "miss"])

    def test_export_failure_is_a_warning_not_a_failed_build(self):
        # The build's token may not push to this repository.
        build = self.cached_build(Case("denied", APP, APP_FILES), "cache/denied",
                                  cache_export="forbidden/cache")
        self.assertRegex(build.stderr, r"(?m)^#\d+ warning: cache export failed: ")
        image = imagefs.pull(self.client, "builds/" + build.id, "latest")
        self.assertEqual(image.digest, build.result["manifest_digest"])

    def test_unreadable_entries_are_misses_with_a_warning(self):
        repo = "cache/broken"
        first = self.cached_build(Case("broken", APP, APP_FILES), repo)
        tags = self.tags(repo)
        self.assertEqual(len(tags), 3)
        # Forge every entry: a config that is not JSON, under the right media type.
        garbage = b"{not json"
        garbage_digest = self.client.push_blob(repo, garbage)
        for tag in tags:
            manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                   "config": {"mediaType": STEP_CONFIG, "digest": garbage_digest,
                                              "size": len(garbage)},
                                   "layers": []}).encode()
            self.client.push_manifest(repo, tag, manifest, OCI_MANIFEST)

        again = self.cached_build(Case("broken", APP, APP_FILES), repo, cache_export=None)
        self.assertOutcomes(again, ["miss", "miss", "miss"])
        self.assertRegex(again.stderr, r"(?m)^#\d+ warning: cache entry .*%s:sha256-[0-9a-f]{64} ignored: "
                         % re.escape(repo))
        # Same inputs, run for real: the same image as the first build.
        self.assertEqual(again.result["manifest_digest"], first.result["manifest_digest"])

    def test_cached_layer_that_fails_its_checks_reruns_the_stage(self):
        repo = "cache/liar"
        first = self.cached_build(Case("liar", APP, APP_FILES), repo)
        # The COPY's entry now claims another diff-id for its (real) layer:
        # the lookup cannot tell, the unpack for the RUN after it can.
        copy_tag = next(t for t in self.tags(repo) if self.entry(repo, t)[1]["instruction"] == APP_STEPS[0])
        manifest, config = self.entry(repo, copy_tag)
        config["layer"]["diff_id"] = "sha256:" + "0" * 64
        forged = json.dumps(config).encode()
        manifest["config"] = {"mediaType": STEP_CONFIG, "digest": self.client.push_blob(repo, forged),
                              "size": len(forged)}
        self.client.push_manifest(repo, copy_tag, json.dumps(manifest).encode(), OCI_MANIFEST)

        again = self.cached_build(Case("liar", APP, APP_FILES, {"FLAVOUR": "spicy"}), repo)
        self.assertRegex(again.stderr, r"(?m)^#\d+ warning: cached layer sha256:[0-9a-f]{64} cannot be used: .*"
                                       r"running stage stage-0 again without the cache$")
        self.assertOutcomes(again, ["miss", "miss", "miss"])
        image = imagefs.pull(self.client, "builds/" + again.id, "latest")
        fs = image.filesystem()
        self.assertFile(fs, "flavour", b"spicy\n")
        self.assertFile(fs, "app/main.txt", b"main\n")
        # The COPY layer is the real one, with its real diff-id.
        self.assertEqual(image.config["rootfs"]["diff_ids"][-3], first.result["layers"][-3]["diff_id"])

    def test_gc_expires_cache_entries_no_build_used_and_keeps_those_a_build_hit(self):
        max_age = 4
        repo = "cache/expiry"
        app = Case("expiry", APP, APP_FILES)
        self.cached_build(app, repo)
        flavoured = Case("expiry", APP, APP_FILES, {"FLAVOUR": "spicy"})
        self.cached_build(flavoured, repo)  # its two RUN entries are used by no later build
        self.assertEqual(len(self.tags(repo)), 5)
        # max_age apart: the entries above are older than max_age when gc
        # runs, and the ones the next build re-tags are younger (it ends less
        # than max_age before gc starts, even on a loaded machine).
        time.sleep(max_age + 0.5)
        # Hits the first build's three entries: the build re-tags them.
        self.assertOutcomes(self.cached_build(app, repo), ["hit-tenant"] * 3)

        gc = self.server.strata("gc", "--cache-max-age-seconds", str(max_age), "--grace-seconds", "0")
        # (Other tests' entries expire too: nothing used them in the last max_age s.)
        expired = re.findall(r"(?m)^deleted cache entry %s@(sha256:[0-9a-f]{64})$" % re.escape(repo), gc.stdout)
        self.assertEqual(len(expired), 2, gc.stdout)
        self.assertEqual(len(self.tags(repo)), 3)
        again = self.cached_build(app, repo)
        self.assertOutcomes(again, ["hit-tenant"] * 3)
        # The blobs only the expired entries held are gone with them.
        for digest in expired:
            resp = self.client.request("HEAD", "/v2/%s/manifests/%s" % (repo, digest), {"Accept": OCI_MANIFEST})
            self.assertEqual(resp.status, 404, resp)

    def entry(self, repo, tag):
        """(manifest, config) of a cache entry, as JSON."""
        resp = self.client.request("GET", "/v2/%s/manifests/%s" % (repo, tag), {"Accept": OCI_MANIFEST})
        self.assertEqual(resp.status, 200, resp)
        manifest = resp.json()
        blob = self.client.request("GET", "/v2/%s/blobs/%s" % (repo, manifest["config"]["digest"]))
        self.assertEqual(blob.status, 200, blob)
        return manifest, blob.json()


if __name__ == "__main__":
    unittest.main()
