"""Every registry endpoint of distribution-spec v1.1, at the HTTP level.

One test per behaviour, each on its own repository so the tests are
independent. Tests marked skip_on_distribution cover strata's extensions or
spec points where Distribution 2.8 deviates (the reason says which).
"""

import json
import os
import re
import threading
import unittest
import urllib.parse

import fixtures
from fixtures import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from harness import (ON_DISTRIBUTION, Server, ServerTestCase, poll, sha256_digest,
                     sha512_digest, skip_on_distribution, upload_path, with_query)

ALL_MANIFEST_TYPES = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])
MISSING = "sha256:" + "0" * 64


def blob_path(repo, digest):
    return "/v2/%s/blobs/%s" % (repo, digest)


def manifest_path(repo, reference):
    return "/v2/%s/manifests/%s" % (repo, reference)


class BaseEndpoint(ServerTestCase):

    def test_base_endpoint_answers_200_with_api_version(self):
        resp = self.client.request("GET", "/v2/")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header("Docker-Distribution-API-Version"), "registry/2.0")


class Blobs(ServerTestCase):

    def test_head_and_get_return_length_digest_and_content(self):
        data = fixtures.random_bytes("blob-get", 10000)
        digest = self.client.push_blob("blobs/get", data)
        head = self.client.request("HEAD", blob_path("blobs/get", digest))
        self.assertEqual(head.status, 200, head)
        self.assertEqual(head.header("Content-Length"), str(len(data)))
        self.assertEqual(head.header("Docker-Content-Digest"), digest)
        self.assertEqual(head.body, b"")
        get = self.client.request("GET", blob_path("blobs/get", digest))
        self.assertEqual(get.status, 200, get)
        self.assertEqual(get.header("Content-Length"), str(len(data)))
        self.assertEqual(get.header("Docker-Content-Digest"), digest)
        self.assertEqual(get.body, data)

    def test_get_with_range_returns_206_and_the_slice(self):
        data = fixtures.random_bytes("blob-range", 5000)
        digest = self.client.push_blob("blobs/range", data)
        resp = self.client.request("GET", blob_path("blobs/range", digest), {"Range": "bytes=100-1099"})
        self.assertEqual(resp.status, 206, resp)
        self.assertEqual(resp.header("Content-Range"), "bytes 100-1099/5000")
        self.assertEqual(resp.header("Content-Length"), "1000")
        self.assertEqual(resp.body, data[100:1100])
        tail = self.client.request("GET", blob_path("blobs/range", digest), {"Range": "bytes=4990-"})
        self.assertEqual(tail.status, 206, tail)
        self.assertEqual(tail.body, data[4990:])

    def test_unsatisfiable_range_returns_416(self):
        data = fixtures.random_bytes("blob-416", 600)
        digest = self.client.push_blob("blobs/range416", data)
        resp = self.client.request("GET", blob_path("blobs/range416", digest), {"Range": "bytes=1000-"})
        self.assertEqual(resp.status, 416, resp)
        if not ON_DISTRIBUTION:  # Distribution's 416 body is shorter than its Content-Length
            self.assertFalse(resp.truncated, resp)
            self.assertEqual(resp.header("Content-Range"), "bytes */600")

    def test_unknown_blob_is_404_blob_unknown(self):
        get = self.client.request("GET", blob_path("blobs/unknown", MISSING))
        self.assertError(get, 404, "BLOB_UNKNOWN")
        head = self.client.request("HEAD", blob_path("blobs/unknown", MISSING))
        self.assertEqual(head.status, 404, head)
        self.assertEqual(head.body, b"")

    def test_blob_of_another_repository_is_not_readable_by_digest(self):
        data = fixtures.random_bytes("tenant-a-secret", 2000)
        digest = self.client.push_blob("tenant-a/app", data)
        get = self.client.request("GET", blob_path("tenant-b/app", digest))
        self.assertError(get, 404, "BLOB_UNKNOWN")
        self.assertNotIn(data, get.body)
        head = self.client.request("HEAD", blob_path("tenant-b/app", digest))
        self.assertEqual(head.status, 404, head)
        # Not even once the other repository exists.
        self.client.push_blob("tenant-b/app", b"tenant b's own blob")
        self.assertEqual(self.client.request("GET", blob_path("tenant-b/app", digest)).status, 404)

    def test_deleted_blob_is_gone(self):
        data = fixtures.random_bytes("blob-delete", 700)
        digest = self.client.push_blob("blobs/delete", data)
        resp = self.client.request("DELETE", blob_path("blobs/delete", digest))
        self.assertEqual(resp.status, 202, resp)
        self.assertError(self.client.request("GET", blob_path("blobs/delete", digest)), 404, "BLOB_UNKNOWN")
        self.assertEqual(self.client.request("HEAD", blob_path("blobs/delete", digest)).status, 404)

    def test_deep_repository_names_work(self):
        repo = "a/b/c/d"
        image = fixtures.make_image("deep", layers=1)
        digest = self.client.push_image(repo, "deep", image)
        for blob in image.blobs():
            self.assertEqual(self.client.request("GET", blob_path(repo, blob.digest)).body, blob.data)
        resp = self.client.request("GET", manifest_path(repo, "deep"), {"Accept": OCI_MANIFEST})
        self.assertEqual(resp.header("Docker-Content-Digest"), digest)
        self.assertEqual(self.client.request("GET", "/v2/%s/tags/list" % repo).json(),
                         {"name": repo, "tags": ["deep"]})
        # A shorter prefix of the name is a different (unknown) repository.
        self.assertEqual(self.client.request("GET", blob_path("a/b/c", image.config.digest)).status, 404)


class Uploads(ServerTestCase):

    def assertBlobStored(self, repo, data):
        resp = self.client.request("GET", blob_path(repo, sha256_digest(data)))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.body, data)

    def assertCreated(self, resp, repo, digest):
        self.assertEqual(resp.status, 201, resp)
        self.assertEqual(resp.header("Docker-Content-Digest"), digest)
        self.assertEqual(urllib.parse.urlsplit(resp.header("Location")).path, blob_path(repo, digest))

    def assertPushCreates(self, push, repo):
        """push(repo, data, digest=None) is one of the client's upload flows."""
        data = fixtures.random_bytes(repo, 3000)
        self.assertCreated(push(repo, data), repo, sha256_digest(data))
        self.assertBlobStored(repo, data)

    def assertPushWithWrongDigestStoresNothing(self, push, repo):
        data = fixtures.random_bytes(repo, 3000)
        wrong = sha256_digest(b"something else")
        self.assertError(push(repo, data, digest=wrong), 400, "DIGEST_INVALID")
        for digest in (wrong, sha256_digest(data)):
            self.assertEqual(self.client.request("HEAD", blob_path(repo, digest)).status, 404)

    @skip_on_distribution("single-POST upload (answers 202 and expects a PUT, as the spec allows)")
    def test_monolithic_post_with_digest_creates_blob(self):
        self.assertPushCreates(self.client.push_blob_monolithic, "up/mono")

    @skip_on_distribution("single-POST upload (ignores the body and the digest)")
    def test_monolithic_post_with_wrong_digest_is_digest_invalid(self):
        self.assertPushWithWrongDigestStoresNothing(self.client.push_blob_monolithic, "up/monobad")

    def test_post_opens_upload_with_location_uuid_and_range(self):
        resp = self.client.start_upload("up/open")
        self.assertEqual(resp.status, 202, resp)
        self.assertTrue(upload_path(resp).startswith("/v2/up/open/blobs/uploads/"), resp)
        self.assertTrue(resp.header("Docker-Upload-UUID"), resp)
        self.assertRegex(resp.header("Range") or "", r"^0-\d+$")

    def test_post_then_put_with_body_creates_blob(self):
        self.assertPushCreates(self.client.push_blob_post_put, "up/postput")

    def test_put_with_wrong_digest_is_digest_invalid_and_stores_nothing(self):
        self.assertPushWithWrongDigestStoresNothing(self.client.push_blob_post_put, "up/putbad")

    def test_chunked_patch_upload_assembles_chunks_in_order(self):
        data = fixtures.random_bytes("chunked", 250000)
        opened = self.client.start_upload("up/chunked")
        location = upload_path(opened)
        for offset in range(0, len(data), 100000):
            chunk = data[offset:offset + 100000]
            resp = self.client.patch_chunk(location, chunk, offset)
            self.assertEqual(resp.status, 202, resp)
            self.assertEqual(resp.header("Range"), "0-%d" % (offset + len(chunk) - 1))
            self.assertTrue(resp.header("Docker-Upload-UUID"), resp)
            location = upload_path(resp)
        resp = self.client.request("PUT", with_query(location, digest=sha256_digest(data)),
                                   {"Content-Length": "0"}, b"")
        self.assertCreated(resp, "up/chunked", sha256_digest(data))
        self.assertBlobStored("up/chunked", data)

    def test_put_may_carry_the_last_chunk(self):
        data = fixtures.random_bytes("last-chunk", 3000)
        resp = self.client.patch_chunk(upload_path(self.client.start_upload("up/lastchunk")), data[:1000], 0)
        self.assertEqual(resp.status, 202, resp)
        resp = self.client.request("PUT", with_query(upload_path(resp), digest=sha256_digest(data)), {
            "Content-Type": "application/octet-stream", "Content-Range": "1000-2999"}, data[1000:])
        self.assertCreated(resp, "up/lastchunk", sha256_digest(data))
        self.assertBlobStored("up/lastchunk", data)

    @skip_on_distribution("ignores Content-Range and appends an out-of-order chunk (spec: 416)")
    def test_out_of_order_chunk_is_416_and_keeps_the_upload(self):
        data = fixtures.random_bytes("ooo", 300)
        resp = self.client.patch_chunk(upload_path(self.client.start_upload("up/ooo")), data[:100], 0)
        self.assertEqual(resp.status, 202, resp)
        location = upload_path(resp)
        gap = self.client.patch_chunk(location, data[200:], 200)
        self.assertEqual(gap.status, 416, gap)
        overlap = self.client.patch_chunk(location, data[50:150], 50)
        self.assertEqual(overlap.status, 416, overlap)
        status = self.client.request("GET", location)
        self.assertEqual(status.status, 204, status)
        self.assertEqual(status.header("Range"), "0-99")
        resp = self.client.patch_chunk(location, data[100:], 100)
        self.assertEqual(resp.status, 202, resp)
        done = self.client.request("PUT", with_query(upload_path(resp), digest=sha256_digest(data)),
                                   {"Content-Length": "0"}, b"")
        self.assertEqual(done.status, 201, done)
        self.assertBlobStored("up/ooo", data)

    def test_upload_status_reports_received_range(self):
        resp = self.client.patch_chunk(upload_path(self.client.start_upload("up/status")), b"x" * 1234, 0)
        status = self.client.request("GET", upload_path(resp))
        self.assertEqual(status.status, 204, status)
        self.assertEqual(status.header("Range"), "0-1233")
        self.assertTrue(status.header("Docker-Upload-UUID"), status)
        self.assertTrue(status.header("Location"), status)

    def test_cancelled_upload_is_gone(self):
        resp = self.client.patch_chunk(upload_path(self.client.start_upload("up/cancel")), b"y" * 100, 0)
        location = upload_path(resp)
        cancel = self.client.request("DELETE", location)
        self.assertEqual(cancel.status, 204, cancel)
        self.assertError(self.client.request("GET", location), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertError(self.client.patch_chunk(location, b"z", 100), 404, "BLOB_UPLOAD_UNKNOWN")
        self.assertEqual(self.client.request("HEAD", blob_path("up/cancel", sha256_digest(b"y" * 100))).status, 404)

    @skip_on_distribution("answers BLOB_UPLOAD_INVALID for an id it never issued (spec: BLOB_UPLOAD_UNKNOWN)")
    def test_unknown_upload_id_is_blob_upload_unknown(self):
        resp = self.client.request("GET", "/v2/up/unknown/blobs/uploads/0b2fcd7d-58f6-4c4d-9f54-b8f9f3c2b7a1")
        self.assertError(resp, 404, "BLOB_UPLOAD_UNKNOWN")

    def test_upload_of_one_repository_is_not_usable_from_another(self):
        location = upload_path(self.client.start_upload("up/owner"))
        uuid = location.split("/blobs/uploads/")[1]
        stolen = "/v2/up/thief/blobs/uploads/" + uuid
        resp = self.client.patch_chunk(stolen, b"data", 0)
        self.assertEqual(resp.status, 404, resp)

    def assertMountLinks(self, source, target, query):
        """Pushes a blob to source, mounts it into target with query (a format
        taking the digest) and expects 201 and the blob readable there."""
        data = fixtures.random_bytes(source + target, 5000)
        digest = self.client.push_blob(source, data)
        resp = self.client.start_upload(target, query % digest)
        self.assertCreated(resp, target, digest)
        self.assertBlobStored(target, data)

    def test_cross_repository_mount_links_blob(self):
        self.assertMountLinks("mount/src", "mount/dst", "?mount=%s&from=mount/src")

    def test_mount_falls_back_to_upload_when_source_lacks_blob(self):
        data = fixtures.random_bytes("mount-miss", 500)
        self.client.push_blob("mount/other", b"unrelated")
        resp = self.client.start_upload("mount/fallback", "?mount=%s&from=mount/other" % sha256_digest(data))
        self.assertEqual(resp.status, 202, resp)
        done = self.client.request("PUT", with_query(upload_path(resp), digest=sha256_digest(data)),
                                   {"Content-Type": "application/octet-stream"}, data)
        self.assertEqual(done.status, 201, done)
        self.assertBlobStored("mount/fallback", data)

    def test_mount_from_repository_without_that_blob_does_not_leak_it(self):
        data = fixtures.random_bytes("mount-leak", 500)
        digest = self.client.push_blob("mount/holder", data)
        resp = self.client.start_upload("mount/leak", "?mount=%s&from=mount/empty" % digest)
        self.assertEqual(resp.status, 202, resp)
        self.assertEqual(self.client.request("HEAD", blob_path("mount/leak", digest)).status, 404)

    @skip_on_distribution("mount without from (automatic content discovery)")
    def test_mount_without_from_links_a_discoverable_blob(self):
        self.assertMountLinks("mount/somewhere", "mount/nofrom", "?mount=%s")

    def test_mount_without_from_of_unknown_blob_opens_upload(self):
        resp = self.client.start_upload("mount/nofrommiss", "?mount=%s" % MISSING)
        self.assertEqual(resp.status, 202, resp)
        self.assertTrue(resp.header("Location"), resp)

    @skip_on_distribution("sha512 digests")
    def test_sha512_blob_upload_and_get(self):
        data = fixtures.random_bytes("sha512", 3000)
        digest = sha512_digest(data)
        resp = self.client.push_blob_post_put("up/sha512", data, digest=digest)
        self.assertCreated(resp, "up/sha512", digest)
        get = self.client.request("GET", blob_path("up/sha512", digest))
        self.assertEqual(get.status, 200, get)
        self.assertEqual(get.body, data)
        self.assertEqual(get.header("Docker-Content-Digest"), digest)

    def test_concurrent_uploads_of_the_same_blob_all_succeed(self):
        data = fixtures.random_bytes("concurrent", 2 * 1024 * 1024)
        digest = sha256_digest(data)
        results = [None] * 16

        def push(i):
            repo = "concurrent/same" if i % 2 == 0 else "concurrent/r%d" % i
            try:
                if i % 4 == 1:
                    results[i] = (repo, self.client.push_blob_chunked(repo, data, 512 * 1024))
                else:
                    results[i] = (repo, self.client.push_blob_post_put(repo, data))
            except Exception as e:  # reported below with the thread's index
                results[i] = (repo, e)

        threads = [threading.Thread(target=push, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for i, (repo, resp) in enumerate(results):
            self.assertNotIsInstance(resp, Exception, "thread %d: %r" % (i, resp))
            self.assertEqual(resp.status, 201, "thread %d: %r" % (i, resp))
            self.assertEqual(resp.header("Docker-Content-Digest"), digest)
            self.assertBlobStored(repo, data)
        if not ON_DISTRIBUTION:
            hexpart = digest.split(":")[1]
            copies = [os.path.join(d, f) for d, _, files in os.walk(self.server.data_dir)
                      for f in files if f == hexpart]
            self.assertLessEqual(len(copies), 1, copies)


class Manifests(ServerTestCase):

    def push_blobs(self, repo, image):
        for blob in image.blobs():
            self.client.push_blob(repo, blob.data)

    def assertServed(self, repo, reference, item):
        get = self.client.request("GET", manifest_path(repo, reference), {"Accept": item.media_type})
        self.assertEqual(get.status, 200, get)
        self.assertEqual(get.body, item.manifest)
        self.assertEqual(get.header("Content-Type"), item.media_type)
        self.assertEqual(get.header("Docker-Content-Digest"), item.digest)
        head = self.client.request("HEAD", manifest_path(repo, reference), {"Accept": item.media_type})
        self.assertEqual(head.status, 200, head)
        self.assertEqual(head.body, b"")
        self.assertEqual(head.header("Content-Length"), str(len(item.manifest)))
        self.assertEqual(head.header("Content-Type"), item.media_type)
        self.assertEqual(head.header("Docker-Content-Digest"), item.digest)

    def put_and_check(self, repo, tag, item):
        resp = self.client.put_manifest(repo, tag, item.manifest, item.media_type)
        self.assertEqual(resp.status, 201, resp)
        self.assertEqual(resp.header("Docker-Content-Digest"), item.digest)
        self.assertEqual(urllib.parse.urlsplit(resp.header("Location")).path, manifest_path(repo, item.digest))
        self.assertServed(repo, tag, item)
        self.assertServed(repo, item.digest, item)

    def test_oci_image_manifest_by_tag_and_digest(self):
        image = fixtures.make_image("m-oci", layers=3)
        self.push_blobs("man/oci", image)
        self.put_and_check("man/oci", "v1", image)

    def test_docker_schema2_manifest_by_tag_and_digest(self):
        image = fixtures.make_image("m-docker", layers=3, docker=True)
        self.push_blobs("man/docker", image)
        self.put_and_check("man/docker", "v1", image)

    def push_index_children(self, repo, index):
        for image in index.images:
            self.push_blobs(repo, image)
            self.client.push_manifest(repo, image.digest, image.manifest, image.media_type)

    def test_oci_index_by_tag_and_digest(self):
        index = fixtures.make_multiplatform_index("m-index")
        self.push_index_children("man/index", index)
        self.put_and_check("man/index", "multi", index)

    def test_docker_manifest_list_by_tag_and_digest(self):
        index = fixtures.make_multiplatform_index("m-list", docker=True)
        self.push_index_children("man/list", index)
        self.put_and_check("man/list", "multi", index)

    def test_put_by_digest_reference(self):
        image = fixtures.make_image("m-bydigest", layers=1)
        self.push_blobs("man/bydigest", image)
        resp = self.client.put_manifest("man/bydigest", image.digest, image.manifest, image.media_type)
        self.assertEqual(resp.status, 201, resp)
        self.assertServed("man/bydigest", image.digest, image)

    def test_put_by_mismatched_digest_is_rejected(self):
        image = fixtures.make_image("m-mismatch", layers=1)
        self.push_blobs("man/mismatch", image)
        resp = self.client.put_manifest("man/mismatch", MISSING, image.manifest, image.media_type)
        self.assertEqual(resp.status, 400, resp)
        self.assertTrue({"DIGEST_INVALID", "MANIFEST_INVALID"} & set(resp.error_codes()), resp)

    def test_accept_listing_several_types_serves_the_stored_type(self):
        image = fixtures.make_image("m-accept", layers=1)
        self.client.push_image("man/accept", "v1", image)
        resp = self.client.request("GET", manifest_path("man/accept", "v1"), {
            "Accept": "%s;q=0.9, %s, %s;q=0.5" % (DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST)})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header("Content-Type"), OCI_MANIFEST)
        self.assertEqual(resp.body, image.manifest)

    @skip_on_distribution("refuses an OCI manifest unless Accept names the OCI type (the spec only says SHOULD send Accept)")
    def test_wildcard_accept_serves_the_stored_manifest(self):
        image = fixtures.make_image("m-wild", layers=1)
        self.client.push_image("man/wild", "v1", image)
        for accept in ("*/*", None):
            headers = {"Accept": accept} if accept else {}
            resp = self.client.request("GET", manifest_path("man/wild", "v1"), headers)
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.header("Content-Type"), OCI_MANIFEST)
            self.assertEqual(resp.body, image.manifest)

    def test_unacceptable_accept_never_mislabels_content(self):
        index = fixtures.make_multiplatform_index("m-neg")
        self.push_index_children("man/neg", index)
        self.client.push_manifest("man/neg", "multi", index.manifest, index.media_type)
        for accept in (DOCKER_MANIFEST, OCI_MANIFEST):
            resp = self.client.request("GET", manifest_path("man/neg", "multi"), {"Accept": accept})
            if resp.status == 200:  # stored or a converted manifest: labelled truthfully
                self.assertEqual(resp.header("Content-Type"), json.loads(resp.body)["mediaType"])
                self.assertEqual(resp.header("Docker-Content-Digest"), sha256_digest(resp.body))
            else:
                self.assertIn(resp.status, (404, 406), resp)

    def test_unknown_manifest_is_manifest_unknown(self):
        self.client.push_image("man/unknown", "v1", fixtures.make_image("m-unknown", layers=1))
        self.assertError(self.client.request("GET", manifest_path("man/unknown", "nope"),
                                             {"Accept": ALL_MANIFEST_TYPES}), 404, "MANIFEST_UNKNOWN")
        self.assertError(self.client.request("GET", manifest_path("man/unknown", MISSING),
                                             {"Accept": ALL_MANIFEST_TYPES}), 404, "MANIFEST_UNKNOWN")
        self.assertEqual(self.client.request("HEAD", manifest_path("man/unknown", "nope")).status, 404)

    def test_manifest_with_missing_layer_is_manifest_blob_unknown(self):
        image = fixtures.make_image("m-nolayer", layers=2)
        self.client.push_blob("man/nolayer", image.config.data)
        self.client.push_blob("man/nolayer", image.layers[0].data)
        resp = self.client.put_manifest("man/nolayer", "v1", image.manifest, image.media_type)
        self.assertError(resp, 400, "MANIFEST_BLOB_UNKNOWN")
        self.assertEqual(self.client.request("HEAD", manifest_path("man/nolayer", "v1")).status, 404)

    def test_manifest_with_missing_config_is_manifest_blob_unknown(self):
        image = fixtures.make_image("m-noconfig", layers=1)
        self.client.push_blob("man/noconfig", image.layers[0].data)
        resp = self.client.put_manifest("man/noconfig", "v1", image.manifest, image.media_type)
        self.assertError(resp, 400, "MANIFEST_BLOB_UNKNOWN")

    def test_manifest_referencing_blob_of_another_repository_is_rejected(self):
        image = fixtures.make_image("m-foreign", layers=1)
        self.push_blobs("man/foreign-owner", image)
        resp = self.client.put_manifest("man/foreign", "v1", image.manifest, image.media_type)
        self.assertError(resp, 400, "MANIFEST_BLOB_UNKNOWN")

    def test_index_with_missing_child_is_manifest_blob_unknown(self):
        index = fixtures.make_multiplatform_index("m-nochild")
        first = index.images[0]
        self.client.push_image("man/nochild", first.digest, first)
        resp = self.client.put_manifest("man/nochild", "multi", index.manifest, index.media_type)
        self.assertError(resp, 400, "MANIFEST_BLOB_UNKNOWN")

    def test_garbage_manifest_is_manifest_invalid(self):
        for body in (b"this is not json", b"[1,2,3]"):
            resp = self.client.put_manifest("man/garbage", "v1", body, OCI_MANIFEST)
            self.assertError(resp, 400, "MANIFEST_INVALID")

    @skip_on_distribution("reports a manifest without config as DIGEST_INVALID + MANIFEST_BLOB_UNKNOWN")
    def test_manifest_without_config_is_manifest_invalid(self):
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode()
        self.assertError(self.client.put_manifest("man/noconfigfield", "v1", body, OCI_MANIFEST),
                         400, "MANIFEST_INVALID")

    def assertRejectedRequest(self, resp, status, code):
        """Strata answers the spec's error; Distribution only has to refuse
        (it answers a plain-text 404 page, a 500 or a redirect)."""
        if ON_DISTRIBUTION:
            self.assertGreaterEqual(resp.status, 300, resp)
        else:
            self.assertError(resp, status, code)

    def test_invalid_repository_name_is_name_invalid(self):
        image = fixtures.make_image("m-name", layers=1)
        for name in ("Upper/case", "a/-b", "a..b", "a/b_", "x" * 300):
            resp = self.client.put_manifest(name, "v1", image.manifest, image.media_type)
            self.assertRejectedRequest(resp, 400, "NAME_INVALID")
            resp = self.client.request("GET", "/v2/%s/tags/list" % name)
            self.assertRejectedRequest(resp, 400, "NAME_INVALID")

    def test_invalid_tag_is_rejected_and_not_stored(self):
        image = fixtures.make_image("m-tag", layers=1)
        self.client.push_image("man/badtag", "good", image)
        for tag in ("-dash", ".dot", "a" * 129, "sp%20ace"):
            resp = self.client.put_manifest("man/badtag", tag, image.manifest, image.media_type)
            self.assertIn(resp.status, (400, 404), resp)
            if not ON_DISTRIBUTION:
                self.assertTrue(resp.error_codes(), resp)
        self.assertEqual(self.client.request("GET", "/v2/man/badtag/tags/list").json()["tags"], ["good"])

    def test_delete_manifest_by_digest_removes_it_and_its_tags(self):
        image = fixtures.make_image("m-del", layers=1)
        digest = self.client.push_image("man/del", "v1", image)
        resp = self.client.request("DELETE", manifest_path("man/del", digest))
        self.assertEqual(resp.status, 202, resp)
        self.assertError(self.client.request("GET", manifest_path("man/del", digest),
                                             {"Accept": OCI_MANIFEST}), 404, "MANIFEST_UNKNOWN")
        self.assertError(self.client.request("GET", manifest_path("man/del", "v1"),
                                             {"Accept": OCI_MANIFEST}), 404, "MANIFEST_UNKNOWN")
        self.assertError(self.client.request("DELETE", manifest_path("man/del", digest)), 404, "MANIFEST_UNKNOWN")

    @skip_on_distribution("2.8 refuses DELETE by tag with DIGEST_INVALID (spec v1.1 allows it)")
    def test_delete_by_tag_removes_only_the_tag(self):
        image = fixtures.make_image("m-deltag", layers=1)
        digest = self.client.push_image("man/deltag", "v1", image)
        self.client.push_manifest("man/deltag", "v2", image.manifest, image.media_type)
        resp = self.client.request("DELETE", manifest_path("man/deltag", "v1"))
        self.assertEqual(resp.status, 202, resp)
        self.assertEqual(self.client.request("HEAD", manifest_path("man/deltag", "v1")).status, 404)
        self.assertServed("man/deltag", "v2", image)
        self.assertServed("man/deltag", digest, image)

    def test_retag_points_tag_at_the_new_manifest(self):
        first = fixtures.make_image("m-retag-1", layers=1)
        second = fixtures.make_image("m-retag-2", layers=1)
        self.client.push_image("man/retag", "latest", first)
        self.client.push_image("man/retag", "latest", second)
        self.assertServed("man/retag", "latest", second)
        self.assertServed("man/retag", first.digest, first)

    @skip_on_distribution("OCI-Subject header (OCI 1.1)")
    def test_manifest_with_subject_answers_oci_subject(self):
        subject = fixtures.make_image("m-subject", layers=1)
        subject_digest = self.client.push_image("man/subject", "v1", subject)
        sbom = fixtures.make_image("m-sbom", layers=1, artifact_type="application/spdx+json",
                                   subject=subject.descriptor())
        self.push_blobs("man/subject", sbom)
        resp = self.client.put_manifest("man/subject", sbom.digest, sbom.manifest, sbom.media_type)
        self.assertEqual(resp.status, 201, resp)
        self.assertEqual(resp.header("OCI-Subject"), subject_digest)

    @skip_on_distribution("4 MiB manifest limit")
    def test_manifest_over_4_mib_is_413_and_not_stored(self):
        image = fixtures.make_image("m-big", layers=1)
        self.push_blobs("man/big", image)
        doc = json.loads(image.manifest)
        doc["annotations"] = {"padding": "p" * (4 * 1024 * 1024)}
        body = json.dumps(doc).encode()
        resp = self.client.put_manifest("man/big", "v1", body, OCI_MANIFEST)
        self.assertEqual(resp.status, 413, resp)
        self.assertTrue(resp.error_codes(), resp)
        self.assertEqual(self.client.request("HEAD", manifest_path("man/big", "v1")).status, 404)

    @skip_on_distribution("sha512 manifest references")
    def test_manifest_by_sha512_reference(self):
        image = fixtures.make_image("m-512", layers=1)
        self.push_blobs("man/sha512", image)
        digest = sha512_digest(image.manifest)
        resp = self.client.put_manifest("man/sha512", digest, image.manifest, image.media_type)
        self.assertEqual(resp.status, 201, resp)
        get = self.client.request("GET", manifest_path("man/sha512", digest), {"Accept": OCI_MANIFEST})
        self.assertEqual(get.status, 200, get)
        self.assertEqual(get.body, image.manifest)


def follow_pages(test, path, key):
    """Follows Link rel="next" from path; returns the list of pages' items."""
    pages = []
    while path:
        resp = test.client.request("GET", path)
        test.assertEqual(resp.status, 200, resp)
        pages.append(resp.json()[key])
        link = resp.header("Link")
        if link is None:
            break
        match = re.match(r'^<([^>]+)>;\s*rel="next"$', link)
        test.assertIsNotNone(match, link)
        path = match.group(1)
        test.assertLess(len(pages), 20, "pagination does not end")
    return pages


class Tags(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.image = fixtures.make_image("tags", layers=1)
        cls.tags = ["t%d" % i for i in range(5)]
        for tag in ["t3", "t1", "t0", "t4", "t2"]:
            cls.client.push_image("tagged/repo", tag, cls.image)

    def test_tags_list_names_every_tag(self):
        resp = self.client.request("GET", "/v2/tagged/repo/tags/list")
        self.assertEqual(resp.status, 200, resp)
        doc = resp.json()
        self.assertEqual(doc["name"], "tagged/repo")
        self.assertEqual(sorted(doc["tags"]), self.tags)

    @skip_on_distribution("2.8 ignores n and last on tags/list and does not sort")
    def test_tags_list_is_lexical_and_paginates_with_n_last_and_link(self):
        self.assertEqual(self.client.request("GET", "/v2/tagged/repo/tags/list").json()["tags"], self.tags)
        first = self.client.request("GET", "/v2/tagged/repo/tags/list?n=2")
        self.assertEqual(first.json()["tags"], ["t0", "t1"])
        self.assertIn("last=t1", first.header("Link") or "")
        self.assertEqual(follow_pages(self, "/v2/tagged/repo/tags/list?n=2", "tags"),
                         [["t0", "t1"], ["t2", "t3"], ["t4"]])
        after = self.client.request("GET", "/v2/tagged/repo/tags/list?last=t2")
        self.assertEqual(after.json()["tags"], ["t3", "t4"])
        self.assertIsNone(after.header("Link"))

    def test_tags_list_of_unknown_repository_is_name_unknown(self):
        self.assertError(self.client.request("GET", "/v2/never/pushed/tags/list"), 404, "NAME_UNKNOWN")


class Catalog(ServerTestCase):
    """Its own server, so the catalog holds exactly the repositories pushed here."""

    repos = ["cat/a", "cat/b/c", "cat/d", "cat/e/f/g", "zz"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for repo in cls.repos:
            cls.client.push_image(repo, "v1", fixtures.make_image("cat-" + repo, layers=1))

    def test_catalog_lists_every_repository(self):
        resp = self.client.request("GET", "/v2/_catalog")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["repositories"], self.repos)

    def test_catalog_paginates_with_n_last_and_link(self):
        pages = follow_pages(self, "/v2/_catalog?n=2", "repositories")
        self.assertEqual(pages, [["cat/a", "cat/b/c"], ["cat/d", "cat/e/f/g"], ["zz"]])
        after = self.client.request("GET", "/v2/_catalog?n=10&" + urllib.parse.urlencode({"last": "cat/d"}))
        self.assertEqual(after.json()["repositories"], ["cat/e/f/g", "zz"])


@skip_on_distribution("referrers API (OCI 1.1)")
class Referrers(ServerTestCase):

    SBOM = "application/spdx+json"
    SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.subject = fixtures.make_image("ref-subject", layers=1)
        cls.client.push_image("ref/app", "v1", cls.subject)
        cls.sbom = fixtures.make_image("ref-sbom", layers=1, artifact_type=cls.SBOM,
                                       subject=cls.subject.descriptor(),
                                       annotations={"org.example.kind": "sbom"})
        cls.sig = fixtures.make_image("ref-sig", layers=1, artifact_type=cls.SIG,
                                      subject=cls.subject.descriptor())
        for artifact in (cls.sbom, cls.sig):
            cls.client.push_image("ref/app", artifact.digest, artifact)

    def referrers(self, digest, query=""):
        resp = self.client.request("GET", "/v2/ref/app/referrers/%s%s" % (digest, query))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header("Content-Type"), OCI_INDEX)
        doc = resp.json()
        self.assertEqual(doc["schemaVersion"], 2)
        self.assertEqual(doc["mediaType"], OCI_INDEX)
        return resp, {d["digest"]: d for d in doc["manifests"]}

    def test_referrers_lists_every_artifact_with_its_type_and_annotations(self):
        resp, found = self.referrers(self.subject.digest)
        self.assertEqual(set(found), {self.sbom.digest, self.sig.digest})
        self.assertEqual(found[self.sbom.digest]["artifactType"], self.SBOM)
        self.assertEqual(found[self.sbom.digest]["size"], len(self.sbom.manifest))
        self.assertEqual(found[self.sbom.digest]["mediaType"], OCI_MANIFEST)
        self.assertEqual(found[self.sbom.digest]["annotations"], {"org.example.kind": "sbom"})
        self.assertEqual(found[self.sig.digest]["artifactType"], self.SIG)
        self.assertIsNone(resp.header("OCI-Filters-Applied"))

    def test_referrers_filtered_by_artifact_type(self):
        resp, found = self.referrers(self.subject.digest, "?" + urllib.parse.urlencode({"artifactType": self.SBOM}))
        self.assertEqual(list(found), [self.sbom.digest])
        self.assertEqual(resp.header("OCI-Filters-Applied"), "artifactType")

    def test_referrers_of_unknown_subject_is_an_empty_index(self):
        _, found = self.referrers(MISSING)
        self.assertEqual(found, {})

    def test_deleted_referrer_is_no_longer_listed(self):
        extra = fixtures.make_image("ref-extra", layers=1, artifact_type="application/x-extra",
                                    subject=self.subject.descriptor())
        self.client.push_image("ref/app", extra.digest, extra)
        self.assertIn(extra.digest, self.referrers(self.subject.digest)[1])
        self.assertEqual(self.client.request("DELETE", manifest_path("ref/app", extra.digest)).status, 202)
        self.assertNotIn(extra.digest, self.referrers(self.subject.digest)[1])


@skip_on_distribution("/healthz and /metrics are strata's")
class Operations(ServerTestCase):

    def scrape(self):
        resp = self.client.request("GET", "/metrics")
        self.assertEqual(resp.status, 200, resp)
        self.assertTrue(resp.header("Content-Type").startswith("text/plain"), resp)
        return resp.body.decode()

    def requests_with_status(self, text, status):
        """Sum of request counters (…_total samples labelled route and status)."""
        total = 0.0
        for line in text.splitlines():
            match = re.match(r'^(\w+_total)\{([^}]*)\}\s+([0-9.eE+-]+)$', line)
            if match and 'route="' in match.group(2) and 'status="%d"' % status in match.group(2):
                total += float(match.group(3))
        return total

    def test_healthz_is_200(self):
        self.assertEqual(self.client.request("GET", "/healthz").status, 200)

    def test_metrics_count_requests_by_route_and_status(self):
        before = self.requests_with_status(self.scrape(), 404)
        for _ in range(3):
            self.assertEqual(self.client.request("GET", blob_path("ops/x", MISSING)).status, 404)
        text = poll(self.scrape, lambda now: self.requests_with_status(now, 404) >= before + 3)
        self.assertGreaterEqual(self.requests_with_status(text, 404), before + 3, text)
        self.assertRegex(text, r"(?m)^# TYPE \w+ counter$")

if __name__ == "__main__":
    unittest.main()
