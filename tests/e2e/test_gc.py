"""strata gc against a live server: mark from manifests, sweep unreferenced
blobs and stale uploads, --dry-run deletes nothing (strata only)."""
import os
import unittest

import fixtures
import harness
from harness import ServerTestCase, skip_on_distribution


def blob_file(data_dir, digest):
    algorithm, hexpart = digest.split(":")
    return os.path.join(data_dir, "blobs", algorithm, hexpart[:2], hexpart)


@skip_on_distribution("strata's own gc command")
class GarbageCollection(ServerTestCase):
    def gc(self, *flags):
        # Grace 0: nothing is spared for being recent, so the test need not wait.
        return self.server.strata("gc", "--grace-seconds", "0", *flags)

    def test_gc_sweeps_unreferenced_blobs_and_stale_uploads_and_dry_run_deletes_nothing(self):
        data = self.server.data_dir
        kept = fixtures.make_image("gc-kept", layers=2)
        dropped = fixtures.make_image("gc-dropped", layers=2)
        self.client.push_image("gc/app", "kept", kept)
        dropped_digest = self.client.push_image("gc/app", "dropped", dropped)
        orphan = self.client.push_blob("gc/orphan", b"orphan blob never referenced")
        upload = self.client.start_upload("gc/app")
        self.assertEqual(upload.status, 202, upload)
        upload_path = harness.upload_path(upload)
        resp = self.client.request("DELETE", "/v2/gc/app/manifests/" + dropped_digest)
        self.assertEqual(resp.status, 202, resp)

        garbage = [b.digest for b in dropped.blobs()] + [dropped_digest, orphan]
        live = [b.digest for b in kept.blobs()] + [kept.digest]

        dry = self.gc("--dry-run", "--upload-max-age-seconds", "0")
        for digest in garbage:
            self.assertIn("would delete blob " + digest, dry.stdout)
            self.assertTrue(os.path.exists(blob_file(data, digest)), digest)
        for digest in live:
            self.assertNotIn(digest, dry.stdout)
        self.assertIn("would delete upload", dry.stdout)
        self.assertEqual(self.client.request("GET", upload_path).status, 204)

        real = self.gc("--upload-max-age-seconds", "0")
        for digest in garbage:
            self.assertIn("deleted blob " + digest, real.stdout)
            self.assertFalse(os.path.exists(blob_file(data, digest)), digest)
        resp = self.client.request("GET", "/v2/gc/orphan/blobs/" + orphan)
        self.assertError(resp, 404, "BLOB_UNKNOWN")
        self.assertError(self.client.request("GET", upload_path), 404, "BLOB_UPLOAD_UNKNOWN")

        # The tagged image is whole: manifest and every blob still served.
        resp = self.client.request("GET", "/v2/gc/app/manifests/kept",
                                   {"Accept": kept.media_type})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.body, kept.manifest)
        for blob in kept.blobs():
            resp = self.client.request("GET", "/v2/gc/app/blobs/" + blob.digest)
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.body, blob.data)

    def test_gc_spares_recent_blobs_within_the_grace_period(self):
        orphan = self.client.push_blob("gc/recent", b"pushed a moment ago, manifest pending")
        out = self.server.strata("gc", "--grace-seconds", "3600")
        self.assertNotIn(orphan, out.stdout)
        resp = self.client.request("GET", "/v2/gc/recent/blobs/" + orphan)
        self.assertEqual(resp.status, 200, resp)


if __name__ == "__main__":
    unittest.main()
