"""Real OCI clients (skopeo, podman) push to and pull from the registry.

skopeo copies generated OCI layouts in and back out with --preserve-digests:
every blob and manifest must come back byte for byte. podman pushes an image
from its own storage (kept in a temp dir with the vfs driver so the host's
storage is never touched), removes it, pulls it back and must get the same
image id and manifest digest.
"""

import json
import os
import secrets
import shutil
import tempfile
import unittest

import fixtures
from harness import ServerTestCase, run_tool, skopeo_copy


def expected_blobs(item):
    """{digest: digest} of every blob and manifest an Image/Index consists of."""
    images = item.images if isinstance(item, fixtures.Index) else [item]
    digests = [item.digest]
    for image in images:
        digests += [image.digest] + [b.digest for b in image.blobs()]
    return {d: d for d in digests}


@unittest.skipUnless(shutil.which("skopeo"), "skopeo not installed")
class SkopeoRoundTrip(ServerTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="strata-e2e-skopeo-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def skopeo_copy(self, src, dest, *flags):
        creds = self.server.registry_creds()
        if creds:
            # Only the registry side takes credentials; they go through the
            # registry's token endpoint like any client's.
            side = "--src-creds" if src.startswith("docker://") else "--dest-creds"
            flags = (side, creds) + flags
        skopeo_copy(src, dest, *flags)

    def round_trip(self, item, repo, tag, *flags):
        source = fixtures.write_oci_layout(os.path.join(self.tmp, "in"), {tag: item})
        remote = "docker://%s/%s:%s" % (self.server.host, repo, tag)
        self.skopeo_copy("oci:%s:%s" % (source, tag), remote, *flags)
        out = os.path.join(self.tmp, "out")
        self.skopeo_copy(remote, "oci:%s:%s" % (out, tag), *flags)
        return out

    def assertSameContent(self, item, out, tag):
        ref = fixtures.layout_ref(out, tag)
        self.assertIsNotNone(ref, "tag %s missing from output layout" % tag)
        self.assertEqual(ref["digest"], item.digest)
        self.assertEqual(ref["mediaType"], item.media_type)
        # Each file's content hashes to its name, and the set is exactly ours.
        self.assertEqual(fixtures.layout_blobs(out), expected_blobs(item))
        with open(os.path.join(out, "blobs", "sha256", item.digest.split(":")[1]), "rb") as f:
            self.assertEqual(f.read(), item.manifest)

    def assertRegistryServesManifest(self, repo, tag, item):
        resp = self.client.request("GET", "/v2/%s/manifests/%s" % (repo, tag),
                                   {"Accept": item.media_type})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.body, item.manifest)
        self.assertEqual(resp.header("Docker-Content-Digest"), item.digest)

    def test_multi_layer_image_round_trips_byte_for_byte(self):
        image = fixtures.make_image("skopeo-image", layers=4)
        out = self.round_trip(image, "a/b/c", "v1")
        self.assertSameContent(image, out, "v1")
        self.assertRegistryServesManifest("a/b/c", "v1", image)

    def test_multi_platform_index_round_trips_byte_for_byte(self):
        index = fixtures.make_multiplatform_index("skopeo-index")
        out = self.round_trip(index, "cache/global/node", "multi", "--all")
        self.assertSameContent(index, out, "multi")
        self.assertRegistryServesManifest("cache/global/node", "multi", index)
        for image in index.images:
            self.assertRegistryServesManifest("cache/global/node", image.digest, image)


@unittest.skipUnless(shutil.which("podman"), "podman not installed")
class PodmanPushPull(ServerTestCase):

    def setUp(self):
        # podman names an image pulled from oci:PATH after PATH, so the path
        # must be a valid reference: mkdtemp's suffix may hold "_" next to "-"
        # (invalid), lowercase hex never does.
        self.tmp = os.path.join(tempfile.gettempdir(),
                                "strata-e2e-podman-" + secrets.token_hex(6))
        os.mkdir(self.tmp, 0o700)
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        # Private storage: vfs needs no kernel overlay support and nothing on
        # the host's image store is read or changed.
        self.podman_base = ["podman", "--root", os.path.join(self.tmp, "root"),
                            "--runroot", os.path.join(self.tmp, "run"),
                            "--storage-driver", "vfs", "--events-backend", "file",
                            "--cgroup-manager", "cgroupfs"]
        self.addCleanup(self.podman, "rmi", "--all", "--force")

    def podman(self, *args):
        return run_tool(self.podman_base + list(args))[1]

    def creds(self):
        creds = self.server.registry_creds()
        return ["--creds", creds] if creds else []

    def inspect(self, ref):
        return json.loads(self.podman("image", "inspect", ref))[0]

    def test_push_remove_pull_gives_same_image(self):
        image = fixtures.make_image("podman-image", layers=3)
        layout = fixtures.write_oci_layout(os.path.join(self.tmp, "layout"), {"v1": image})
        self.podman("pull", "oci:%s:v1" % layout)
        remote = "%s/cache/global/node:podman" % self.server.host
        image_id = image.config.digest.split(":")[1]
        self.podman("tag", image_id, remote)
        digest_file = os.path.join(self.tmp, "digest")
        self.podman("push", "--tls-verify=false", *self.creds(), "--digestfile", digest_file, remote)
        with open(digest_file) as f:
            pushed_digest = f.read().strip()

        resp = self.client.request("HEAD", "/v2/cache/global/node/manifests/podman",
                                   {"Accept": ", ".join([fixtures.OCI_MANIFEST,
                                                         fixtures.DOCKER_MANIFEST])})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header("Docker-Content-Digest"), pushed_digest)

        self.podman("rmi", "--all", "--force")
        self.assertEqual(self.podman("images", "-q").strip(), "")

        self.podman("pull", "--tls-verify=false", *self.creds(), remote)
        pulled = self.inspect(remote)
        self.assertEqual(pulled["Id"], image_id)
        self.assertEqual(pulled["Digest"], pushed_digest)
        self.assertEqual(pulled["RootFS"]["Layers"],
                         json.loads(image.config.data)["rootfs"]["diff_ids"])


if __name__ == "__main__":
    unittest.main()
