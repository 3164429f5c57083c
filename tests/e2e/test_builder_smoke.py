"""Smoke test of `strata builder` (issue 4) against a real `strata serve`.

Builds a busybox base image FROM scratch out of Debian's busybox-static,
pushes it, builds on top of it (RUN, ENV, WORKDIR, CMD), pulls the result
back over HTTP and checks its filesystem and config; a failing RUN fails the
build without pushing a manifest. After every build no mount is left under
the work dir and runc knows no container. Needs root, runc and
/bin/busybox (busybox-static); skipped otherwise. The broader builder suite
lives elsewhere; this one stays small.
"""

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest

from harness import ServerTestCase, default_strata_bin

BUSYBOX = "/bin/busybox"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def builder_unavailable():
    if os.geteuid() != 0:
        return "the builder needs root (overlayfs, runc)"
    if shutil.which("runc") is None:
        return "runc is not installed"
    if not os.path.exists(BUSYBOX):
        return "busybox-static is not installed"
    return None


def flatten(layers):
    """Applies layer tars (bytes, lowest first) with OCI whiteouts; returns
    {path: (TarInfo, content bytes or None)}."""
    files = {}
    for blob in layers:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
            for info in tar.getmembers():
                path = info.name[2:] if info.name.startswith("./") else info.name
                path = path.strip("/")
                directory, _, name = path.rpartition("/")
                if name == ".wh..wh..opq":
                    prefix = directory + "/"
                    for existing in [p for p in files if p.startswith(prefix)]:
                        del files[existing]
                    continue
                if name.startswith(".wh."):
                    gone = (directory + "/" if directory else "") + name[len(".wh."):]
                    for existing in [p for p in files if p == gone or p.startswith(gone + "/")]:
                        del files[existing]
                    continue
                content = tar.extractfile(info).read() if info.isfile() else None
                files[path] = (info, content)
    return files


@unittest.skipIf(builder_unavailable(), builder_unavailable() or "")
class BuilderSmokeTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="strata-builder-e2e-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.work_dir = os.path.join(cls.tmp, "work")
        cls.token = cls.server.mint_registry_token("repository:base/busybox:pull,push",
                                                   "repository:builds/*:pull,push")
        proc, result = cls.build_image(cls, "base", "FROM scratch\n"
                                       "COPY busybox /bin/busybox\n"
                                       "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
                                       {"busybox": BUSYBOX}, "base/busybox", "1")
        if proc.returncode != 0:
            raise AssertionError("base image build failed:\n" + proc.stderr)
        cls.base = result

    def build_image(self, build_id, dockerfile, files, repository, tag=None):
        """Runs `strata builder` on a context made of `files` (name -> host
        path to copy, or bytes); returns (CompletedProcess, result JSON)."""
        context = os.path.join(self.tmp, build_id, "context")
        os.makedirs(context)
        with open(os.path.join(context, "Dockerfile"), "w") as f:
            f.write(dockerfile)
        for name, source in files.items():
            if isinstance(source, bytes):
                with open(os.path.join(context, name), "wb") as f:
                    f.write(source)
            else:
                shutil.copy2(source, os.path.join(context, name))
        result_path = os.path.join(self.tmp, build_id, "result.json")
        config = {
            "id": build_id,
            "context_dir": context,
            "registry": {"url": self.server.base_url, "token": self.token},
            "output": {"repository": repository, **({"tag": tag} if tag else {})},
            "network_mode": "isolated",
            "timeout_seconds": 300,
            "work_dir": self.work_dir,
            "result_path": result_path,
        }
        config_path = os.path.join(self.tmp, build_id, "build.json")
        with open(config_path, "w") as f:
            json.dump(config, f)
        proc = subprocess.run([default_strata_bin(), "builder", "--config", config_path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              text=True, timeout=300)
        with open(result_path) as f:
            result = json.load(f)
        return proc, result

    def assertNothingLeft(self):
        with open("/proc/self/mountinfo") as f:
            mounts = [line for line in f if " " + self.work_dir + "/" in line]
        self.assertEqual(mounts, [])
        listed = subprocess.run(["runc", "--root", os.path.join(self.work_dir, "runc"), "list", "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(listed.stdout.strip(), "")

    def pull(self, repository, reference):
        """(manifest, config, layer blobs) of an image, read over HTTP."""
        resp = self.client.request("GET", "/v2/%s/manifests/%s" % (repository, reference),
                                   {"Accept": OCI_MANIFEST})
        self.assertEqual(resp.status, 200, resp)
        manifest = resp.json()

        def blob(digest):
            got = self.client.request("GET", "/v2/%s/blobs/%s" % (repository, digest))
            self.assertEqual(got.status, 200, got)
            return got.body

        config = json.loads(blob(manifest["config"]["digest"]))
        return manifest, config, [blob(layer["digest"]) for layer in manifest["layers"]]

    def test_base_image_from_scratch_holds_busybox_and_its_applets(self):
        self.assertEqual(self.base["status"], "ready")
        manifest, config, layers = self.pull("base/busybox", "1")
        self.assertEqual(manifest["mediaType"], OCI_MANIFEST)
        self.assertEqual(len(layers), 2)
        self.assertEqual(config["rootfs"]["diff_ids"], [l["diff_id"] for l in self.base["layers"]])
        files = flatten(layers)
        with open(BUSYBOX, "rb") as f:
            self.assertEqual(files["bin/busybox"][1], f.read())
        self.assertTrue(files["bin/sh"][0].issym())
        self.assertNothingLeft()

    def test_build_on_pushed_base_runs_and_records_config(self):
        dockerfile = ("FROM %s/base/busybox:1\n"
                      "ENV GREETING=hello\n"
                      "WORKDIR /app\n"
                      "RUN echo hi > /hello && echo \"$GREETING\" > greeting\n"
                      "CMD [\"cat\", \"/hello\"]\n" % self.server.host)
        proc, result = self.build_image("app", dockerfile, {}, "builds/app", "v1")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(result["status"], "ready")
        self.assertEqual(result["base_images"][0]["ref"], self.server.host + "/base/busybox:1")
        self.assertEqual(result["image"], "%s/builds/app@%s" % (self.server.host, result["manifest_digest"]))
        self.assertEqual([s["instruction"] for s in result["steps"]][1:],
                         ["ENV GREETING=hello", "WORKDIR /app",
                          "RUN echo hi > /hello && echo \"$GREETING\" > greeting", "CMD [\"cat\", \"/hello\"]"])
        self.assertIn("#4 [stage-0 4/5] RUN echo hi", proc.stderr)

        manifest, config, layers = self.pull("builds/app", "v1")
        self.assertEqual(manifest["config"]["digest"], result["config_digest"])
        # Base layers are reused as they are, then WORKDIR's and RUN's.
        self.assertEqual([l["digest"] for l in manifest["layers"][:2]],
                         [l["digest"] for l in self.base["layers"]])
        self.assertEqual(len(manifest["layers"]), 4)
        files = flatten(layers)
        self.assertEqual(files["hello"][1], b"hi\n")
        self.assertEqual(files["app/greeting"][1], b"hello\n")
        self.assertTrue(files["app"][0].isdir())
        self.assertIn("GREETING=hello", config["config"]["Env"])
        self.assertEqual(config["config"]["WorkingDir"], "/app")
        self.assertEqual(config["config"]["Cmd"], ["cat", "/hello"])
        self.assertEqual(config["architecture"], "amd64")
        self.assertEqual(config["history"][-1], {"created": config["history"][-1]["created"],
                                                 "created_by": "CMD [\"cat\", \"/hello\"]", "empty_layer": True})
        self.assertNothingLeft()

    def test_failing_run_fails_the_build_and_pushes_nothing(self):
        dockerfile = "FROM %s/base/busybox:1\nRUN echo about to fail; exit 3\n" % self.server.host
        proc, result = self.build_image("fails", dockerfile, {}, "builds/fails", "v1")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(result["status"], "failed")
        self.assertIn("exit code: 3", result["error"])
        self.assertIn('process "/bin/sh -c echo about to fail; exit 3" did not complete successfully',
                      proc.stderr)
        self.assertIn("about to fail", proc.stderr)
        resp = self.client.request("GET", "/v2/builds/fails/manifests/v1", {"Accept": OCI_MANIFEST})
        self.assertEqual(resp.status, 404, resp)
        self.assertNothingLeft()


if __name__ == "__main__":
    unittest.main()
