"""The pluggable OCI runtime (issue 9) end to end: `strata serve --runtime R`
for runc, crun and runsc (gVisor), each a real server building through the
build API.

Every runtime builds the same Dockerfile (FROM scratch: Debian's
busybox-static and a skeleton tar with /etc, /tmp and /home/app; RUN steps
that install applets, add files, links and an owner, delete a lower file,
leave a file in /tmp, and a `USER app` step that probes a root-owned
directory) with SOURCE_DATE_EPOCH set, and must produce the image runc
produces, digest for digest: a runtime that loses a write, leaves a mount
stub, shifts an owner or lets a non-root user write where runc would not,
changes the digest. (The skeleton brings /tmp because under runsc a step
always finds a /tmp: gVisor mounts a tmpfs where it is missing.)

Under runsc a RUN step with network access (an egress build) fails with a
reason that says why (oci_runtime.h).

A runtime is skipped only when its binary is not installed; one that is
installed but cannot build here fails. Needs root and /bin/busybox
(busybox-static), like the builder suites.
"""

import io
import shutil
import tarfile
import time
import unittest

import imagefs
from harness import Server
from test_builder import BASE_GROUP, BASE_PASSWD, SOURCE_DATE_EPOCH
from test_builder_smoke import BUSYBOX, builder_unavailable
from test_builds_api import FilePart, context_tar, encode_multipart

DOCKERFILE = b"""FROM scratch
COPY busybox /bin/busybox
ADD skeleton.tar /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /srv/data && echo keep > /srv/data/keep && echo gone > /srv/data/gone \\
 && ln -s keep /srv/data/link && ln /srv/data/keep /srv/data/hard && chown app:app /srv/data/hard
RUN rm /srv/data/gone && echo left > /tmp/left && chmod 0600 /srv/data/keep
USER app
RUN id > /home/app/id && { touch /etc/denied 2>/dev/null && echo writable || echo denied; } > /home/app/probe
"""
RUNTIMES = ["runc", "crun", "runsc"]


def skeleton_tar():
    """/etc/passwd and /etc/group (root, nobody, app 1000:1000), /tmp 1777 and
    /home/app owned by app."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode, owner in [("etc", None, 0o755, 0), ("etc/passwd", BASE_PASSWD, 0o644, 0),
                                        ("etc/group", BASE_GROUP, 0o644, 0), ("tmp", None, 0o1777, 0),
                                        ("home", None, 0o755, 0), ("home/app", None, 0o755, 1000)]:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE if data is None else tarfile.REGTYPE
            info.mode, info.uid, info.gid, info.mtime = mode, owner, owner, SOURCE_DATE_EPOCH
            info.size = len(data or b"")
            tar.addfile(info, io.BytesIO(data) if data else None)
    return raw.getvalue()


def context_files():
    with open(BUSYBOX, "rb") as f:
        busybox = (f.read(), 0o755)
    return {"Dockerfile": DOCKERFILE, "busybox": busybox, "skeleton.tar": skeleton_tar()}


class BuiltImage:
    def __init__(self, build, image):
        self.build = build
        self.image = image


@unittest.skipIf(builder_unavailable(), builder_unavailable() or "")
class RuntimeBuildTest(unittest.TestCase):
    _images = {}  # runtime -> BuiltImage, each runtime's build made once

    def serve(self, runtime):
        """`strata serve --runtime <runtime>` for this test, and a tenant key;
        skips the test if the runtime is not installed."""
        if shutil.which(runtime) is None:
            self.skipTest("%s is not installed" % runtime)
        server = Server(serve_args=["--runtime", runtime])
        self.addCleanup(server.cleanup)
        server.start()
        return server, server.strata("keys", "create", "--role", "tenant", "--tenant", "acme").stdout.strip()

    def submit(self, server, key, files, **fields):
        """POSTs a build of `files`; returns the final build."""
        form = [("source", FilePart(context_tar(files)))] + list(fields.items())
        content_type, body = encode_multipart(form)
        headers = {"Authorization": "Bearer " + key, "Content-Type": content_type}
        resp = server.anonymous_client().request("POST", "/builds", headers, body)
        self.assertEqual(resp.status, 202, resp)
        return self.wait_final(server, key, resp.json()["id"])

    def built_with(self, runtime):
        """The Dockerfile built through the API of `strata serve --runtime
        <runtime>` (a server of its own); the build must be ready."""
        if runtime in self._images:
            return self._images[runtime]
        server, key = self.serve(runtime)
        build = self.submit(server, key, context_files(),
                            build_args='{"SOURCE_DATE_EPOCH": "%d"}' % SOURCE_DATE_EPOCH)
        build_id = build["id"]
        if build["status"] != "ready":
            logs = server.anonymous_client().request("GET", "/builds/%s/logs" % build_id,
                                                     {"Authorization": "Bearer " + key})
            self.fail("build with %s ended %s: %s\n%s" % (runtime, build["status"], build.get("error"),
                                                          logs.body.decode(errors="replace")[-4000:]))
        image = imagefs.pull(server.client(), "builds/" + build_id, build["manifest_digest"])
        self._images[runtime] = BuiltImage(build, image)
        return self._images[runtime]

    @staticmethod
    def wait_final(server, key, build_id, timeout=300):
        deadline = time.monotonic() + timeout
        while True:
            resp = server.anonymous_client().request("GET", "/builds/" + build_id, {"Authorization": "Bearer " + key})
            build = resp.json()
            if build["status"] in ("ready", "failed", "cancelled"):
                return build
            if time.monotonic() > deadline:
                raise AssertionError("build %s still %s after %ss:\n%s"
                                     % (build_id, build["status"], timeout, server.log_tail()))
            time.sleep(0.2)

    def assertSameImageAsRunc(self, runtime):
        reference = self.built_with("runc")
        built = self.built_with(runtime)
        reference_fs, built_fs = reference.image.filesystem(), built.image.filesystem()
        # The filesystems first: a difference there says what went wrong.
        self.assertEqual(sorted(built_fs), sorted(reference_fs), "paths in the image built with " + runtime)
        for path, entry in reference_fs.items():
            self.assertEqual(built_fs[path], entry, path)
        self.assertEqual(built.build["layers"], reference.build["layers"])
        self.assertEqual(built.build["manifest_digest"], reference.build["manifest_digest"])

    def test_runc_builds_what_the_dockerfile_says(self):
        fs = self.built_with("runc").image.filesystem()
        self.assertEqual(fs["bin/sh"].link, "/bin/busybox")
        self.assertEqual((fs["home/app"].uid, fs["home/app"].gid), (1000, 1000))
        self.assertEqual((fs["home/app/probe"].uid, fs["home/app/probe"].sha256),
                         (1000, imagefs.content_sha256(b"denied\n")))
        self.assertEqual(fs["home/app/id"].sha256,
                         imagefs.content_sha256(b"uid=1000(app) gid=1000(app)\n"))
        self.assertEqual(fs["tmp/left"].sha256, imagefs.content_sha256(b"left\n"))
        self.assertEqual(oct(fs["srv/data/keep"].mode), oct(0o600))
        self.assertEqual((fs["srv/data/hard"].uid, fs["srv/data/keep"].uid), (1000, 1000))
        self.assertEqual(fs["srv/data/link"].link, "keep")
        self.assertNotIn("srv/data/gone", fs)
        self.assertNotIn("etc/denied", fs)
        for stub in ("proc", "dev", "sys"):
            self.assertNotIn(stub, fs)

    def test_crun_builds_the_same_image_as_runc(self):
        self.assertSameImageAsRunc("crun")

    def test_runsc_builds_the_same_image_as_runc(self):
        self.assertSameImageAsRunc("runsc")

    def test_runsc_refuses_a_run_step_with_network_access_and_says_why(self):
        # In a user namespace gVisor has no network mode for it (oci_runtime.h).
        server, key = self.serve("runsc")
        files = {"Dockerfile": b'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "true"]\n',
                 "busybox": context_files()["busybox"]}
        build = self.submit(server, key, files, network_mode="egress")
        self.assertEqual(build["status"], "failed", build)
        self.assertIn("runsc cannot run a RUN step with network access in a user namespace", build["error"])


if __name__ == "__main__":
    unittest.main()
