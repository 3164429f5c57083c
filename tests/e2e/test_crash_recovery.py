"""kill -9 of the server in the middle of an upload, then restart on the same
data directory: the store must be consistent.

After the restart no partial blob is visible (HEAD of the final digest is 404,
every file stored under a digest name hashes to that digest), blobs completed
before the crash are intact, and the interrupted upload either resumes from
the offset its status reports (and finishes with the right digest) or is
cleanly gone (404 BLOB_UPLOAD_UNKNOWN, and a fresh upload succeeds).
"""

import hashlib
import os
import re
import time
import unittest

import fixtures
from harness import Server, sha256_digest, skip_on_distribution, upload_path, with_query

MIB = 1024 * 1024
HEX_NAME = re.compile(r"^([0-9a-f]{64}|[0-9a-f]{128})$")


def digest_named_files(data_dir):
    """(path, name digest hex) of every file stored under a digest name:
    <hex> itself, or <hex>/data as Distribution lays blobs out."""
    for directory, _, files in os.walk(data_dir):
        for name in files:
            if HEX_NAME.match(name):
                yield os.path.join(directory, name), name
            elif name == "data" and HEX_NAME.match(os.path.basename(directory)):
                yield os.path.join(directory, name), os.path.basename(directory)


def file_hex(path, length):
    algorithm = hashlib.sha256 if length == 64 else hashlib.sha512
    h = algorithm()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


@skip_on_distribution("crash consistency is strata's contract (issue 2)")
class KillDuringUpload(unittest.TestCase):

    def setUp(self):
        self.server = Server()
        self.addCleanup(self.server.cleanup)
        self.server.start()
        self.client = self.server.client()
        self.data = fixtures.random_bytes("crash", 6 * MIB)
        self.digest = sha256_digest(self.data)
        # A blob completed before the crash must survive it.
        self.done_data = fixtures.random_bytes("crash-done", 300000)
        self.client.push_blob("crash/repo", self.done_data)

    def kill_while_streaming(self, method, path, headers, declared, sent):
        """Sends headers declaring `declared` body bytes, streams `sent` of them
        slowly, then kills the server with SIGKILL mid-body."""
        conn = self.client.connect(timeout=30)
        conn.putrequest(method, path)
        for name, value in self.client.with_credentials(headers).items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(declared)))
        conn.endheaders()
        try:
            for offset in range(0, sent, 64 * 1024):
                conn.send(declared[offset:min(offset + 64 * 1024, sent)])
                time.sleep(0.005)
        except OSError as e:
            conn.close()
            self.fail("server closed the connection before the body was sent (%s), "
                      "so the kill could not land mid-body" % e)
        time.sleep(0.2)  # let the server consume what was sent
        self.server.kill9()
        conn.close()

    def restart_and_check_store(self):
        self.server.start()
        self.client = self.server.client()
        head = self.client.request("HEAD", "/v2/crash/repo/blobs/" + self.digest)
        self.assertEqual(head.status, 404, "partial blob visible after crash: %r" % head)
        done = self.client.request("GET", "/v2/crash/repo/blobs/" + sha256_digest(self.done_data))
        self.assertEqual(done.status, 200, done)
        self.assertEqual(done.body, self.done_data)
        self.assertNoPartialFilesUnderDigestNames()

    def assertNoPartialFilesUnderDigestNames(self):
        stored = set()
        for path, hexname in digest_named_files(self.server.data_dir):
            self.assertEqual(file_hex(path, len(hexname)), hexname,
                             "%s is stored under a digest name but its content differs" % path)
            stored.add(hexname)
        # The check above means something only if blobs are stored by digest
        # name (blobs/sha256/ab/abcd... per the architecture page).
        self.assertIn(sha256_digest(self.done_data).split(":")[1], stored)

    def resume_or_confirm_gone(self, location, committed, received_max):
        """The upload either resumes from its reported offset or is gone."""
        status = self.client.request("GET", location)
        if status.status == 404:
            self.assertEqual(status.json()["errors"][0]["code"], "BLOB_UPLOAD_UNKNOWN", status)
            fresh = self.client.push_blob_chunked("crash/repo", self.data, 2 * MIB)
            self.assertEqual(fresh.status, 201, fresh)
            return
        self.assertEqual(status.status, 204, status)
        match = re.match(r"^0-(\d+)$", status.header("Range") or "")
        self.assertIsNotNone(match, status)
        offset = int(match.group(1)) + 1
        # Everything acknowledged (202) before the crash must still be there;
        # more is fine only up to what actually reached the server.
        self.assertGreaterEqual(offset, committed, status)
        self.assertLessEqual(offset, received_max, status)
        resp = self.client.patch_chunk(upload_path(status), self.data[offset:], offset)
        self.assertEqual(resp.status, 202, resp)
        done = self.client.request("PUT", with_query(upload_path(resp), digest=self.digest),
                                   {"Content-Length": "0"}, b"")
        self.assertEqual(done.status, 201, done)
        self.assertEqual(done.header("Docker-Content-Digest"), self.digest)

    def assertBlobIsRight(self):
        get = self.client.request("GET", "/v2/crash/repo/blobs/" + self.digest)
        self.assertEqual(get.status, 200, get)
        self.assertEqual(hashlib.sha256(get.body).hexdigest(), self.digest.split(":")[1])
        self.assertNoPartialFilesUnderDigestNames()

    def test_kill_during_patch_then_resume_or_gone(self):
        first = self.client.patch_chunk(upload_path(self.client.start_upload("crash/repo")),
                                        self.data[:MIB], 0)
        self.assertEqual(first.status, 202, first)
        location = upload_path(first)
        chunk = self.data[MIB:5 * MIB]
        self.kill_while_streaming("PATCH", location, {
            "Content-Type": "application/octet-stream",
            "Content-Range": "%d-%d" % (MIB, 5 * MIB - 1)}, chunk, sent=2 * MIB)
        self.restart_and_check_store()
        self.resume_or_confirm_gone(location, committed=MIB, received_max=3 * MIB)
        self.assertBlobIsRight()

    def test_kill_during_final_put_then_resume_or_gone(self):
        first = self.client.patch_chunk(upload_path(self.client.start_upload("crash/repo")),
                                        self.data[:2 * MIB], 0)
        self.assertEqual(first.status, 202, first)
        location = upload_path(first)
        self.kill_while_streaming("PUT", with_query(location, digest=self.digest), {
            "Content-Type": "application/octet-stream"}, self.data[2 * MIB:], sent=3 * MIB)
        self.restart_and_check_store()
        self.resume_or_confirm_gone(location, committed=2 * MIB, received_max=5 * MIB)
        self.assertBlobIsRight()

    def test_kill_during_monolithic_post_leaves_no_blob(self):
        self.kill_while_streaming("POST", "/v2/crash/repo/blobs/uploads/?digest=" + self.digest, {
            "Content-Type": "application/octet-stream"}, self.data, sent=4 * MIB)
        self.restart_and_check_store()
        fresh = self.client.push_blob_post_put("crash/repo", self.data)
        self.assertEqual(fresh.status, 201, fresh)
        self.assertBlobIsRight()


if __name__ == "__main__":
    unittest.main()
