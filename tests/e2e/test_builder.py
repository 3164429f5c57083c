"""`strata builder` end to end (issue 4): Dockerfile features, cancellation,
reproducibility, and the same images as Debian's buildah.

Each class starts a real `strata serve` and builds its busybox base image with
strata itself, FROM scratch out of Debian's busybox-static, plus a minimal
/etc/passwd and /etc/group (root, nobody, app 1000:1000), /tmp and /home/app,
and pushes it to <server>/base/busybox:1. Every test then builds a Dockerfile
on it, pulls the image back over HTTP (imagefs) and checks the flattened
filesystem and the config. Builds run with network_mode isolated: nothing
here needs the network.

BuildahCompatibilityTest builds the Dockerfiles that need no secret or cache
mount with `buildah bud` too (vfs storage in a temp dir, chroot isolation,
base pulled from and result pushed to the test server) and requires the same
flattened filesystem (paths, types, modes, owners, content, link targets,
hard-link groups; mtimes ignored) and the same config fields.

Needs root, runc and /bin/busybox; the compatibility class also buildah.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import unittest

import imagefs
from harness import ServerTestCase, default_strata_bin, run_tool
# The smoke test's preconditions (root, runc, busybox-static) are this suite's.
from test_builder_smoke import BUSYBOX, builder_unavailable

SOURCE_DATE_EPOCH = 1700000000  # 2023-11-14T22:13:20Z
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The config fields two builders must agree on.
COMPARED_CONFIG_FIELDS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels",
                          "ExposedPorts", "Volumes", "StopSignal"]
# buildah stamps every image it commits with its version; not part of the
# Dockerfile's meaning, so it is dropped from buildah's Labels before comparing.
BUILDAH_OWN_LABELS = ["io.buildah.version"]
# buildah's RUN (chroot isolation here; its runc isolation does the same)
# creates these mount points in the rootfs when the image lacks them and
# commits them: empty dirs /dev /proc /sys /run, empty files /etc/hostname,
# /etc/hosts, /etc/resolv.conf. BuildKit removes such mount stubs after a RUN
# and so does strata. Dropped from buildah's side only while they are still
# empty stubs; anything a Dockerfile puts there is compared.
BUILDAH_RUN_STUBS = ["dev", "proc", "sys", "run", "etc/hostname", "etc/hosts", "etc/resolv.conf"]


def mounts_under(directory):
    """Mount points below `directory` (as /proc/self/mountinfo lists them)."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p.startswith(directory.rstrip("/") + "/")]


def remove_unless_mounted(directory):
    """Removes a test's temp dir, unless a builder left mounts in it: deleting
    through a leftover bind mount could reach files outside it."""
    left = mounts_under(directory)
    if left:
        print("not removing %s: still mounted: %s" % (directory, left))
        return
    shutil.rmtree(directory, ignore_errors=True)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


# Context entries besides plain bytes.
class HostFile:
    def __init__(self, path):
        self.path = path


class Symlink:
    def __init__(self, target):
        self.target = target


class Hardlink:
    def __init__(self, other):
        self.other = other  # context-relative path written before this one


class Mode:
    def __init__(self, data, mode):
        self.data = data
        self.mode = mode


def write_context(directory, files):
    """Writes a build context: {relative path: bytes | Mode | HostFile |
    Symlink | Hardlink}, in the given order."""
    os.makedirs(directory, exist_ok=True)
    for name, source in files.items():
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(source, HostFile):
            shutil.copy2(source.path, path)
        elif isinstance(source, Symlink):
            os.symlink(source.target, path)
        elif isinstance(source, Hardlink):
            os.link(os.path.join(directory, source.other), path)
        else:
            data, mode = (source.data, source.mode) if isinstance(source, Mode) else (source, 0o644)
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, mode)


def make_tar(gzipped=False):
    """A small archive for ADD: a directory, files with their own modes and
    owners, a symlink and a hard link."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name, kind, mode, uid=0, gid=0, data=b"", link=""):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = kind, mode, uid, gid
            info.mtime, info.linkname, info.size = 1600000000, link, len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
        add("pkg", tarfile.DIRTYPE, 0o755)
        add("pkg/bin", tarfile.DIRTYPE, 0o750, 1000, 1000)
        add("pkg/bin/run.sh", tarfile.REGTYPE, 0o4755, data=b"#!/bin/sh\necho run\n")
        add("pkg/README", tarfile.REGTYPE, 0o600, 1000, 1000, b"read me\n")
        add("pkg/latest", tarfile.SYMTYPE, 0o777, link="bin/run.sh")
        add("pkg/README.hard", tarfile.LNKTYPE, 0o600, 1000, 1000, link="pkg/README")
    data = raw.getvalue()
    return gzip.compress(data, mtime=0) if gzipped else data


BASE_PASSWD = (b"root:x:0:0:root:/root:/bin/sh\n"
               b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
               b"app:x:1000:1000:app:/home/app:/bin/sh\n")
BASE_GROUP = b"root:x:0:\nnobody:x:65534:\napp:x:1000:\n"
BASE_DOCKERFILE = """FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY passwd group /etc/
RUN mkdir -m 1777 /tmp && mkdir -p /home/app && chown app:app /home/app
"""
BASE_FILES = {"busybox": HostFile(BUSYBOX), "passwd": BASE_PASSWD, "group": BASE_GROUP}


class Case:
    """One Dockerfile with its context; `{base}` in the text stands for the
    test server's busybox image."""

    def __init__(self, name, dockerfile, files=None, build_args=None):
        self.name = name
        self.dockerfile = dockerfile
        self.files = files or {}
        self.build_args = build_args or {}

    def text(self, base):
        return self.dockerfile.replace("{base}", base)


MULTI_STAGE = Case("multistage", """FROM {base} AS build
RUN mkdir -p /out && echo built > /out/artifact && chmod 0640 /out/artifact && echo junk > /junk
FROM {base}
COPY --from=build /out/artifact /app/artifact
RUN cat /app/artifact > /app/copy
""")

CHOWN_CHMOD = Case("chown_chmod", """FROM {base}
COPY --chown=app:app owned.txt /srv/owned.txt
COPY --chown=1000:1000 --chmod=0750 tool.sh /srv/tool.sh
COPY --chmod=0600 conf/ /srv/conf/
""", {"owned.txt": b"owned\n", "tool.sh": Mode(b"#!/bin/sh\n", 0o644),
      "conf/a.conf": b"a=1\n", "conf/sub/b.conf": Mode(b"b=2\n", 0o755)})

WHITEOUTS = Case("whiteouts", """FROM {base}
RUN mkdir -p /d/sub && echo old > /d/old && echo old > /d/sub/deep && echo gone > /gone.txt && echo keep > /keep.txt
RUN rm /gone.txt
RUN rm -rf /d && mkdir /d && touch /d/new
""")

LINKS = Case("links", """FROM {base}
RUN mkdir /data && echo target > /data/t && ln -s /data/t /data/abs && ln -s t /data/rel && ln /data/t /data/hard && ln -s /nowhere /data/dangling
COPY tree/ /tree/
""", {"tree/file": b"file\n", "tree/link": Symlink("file"), "tree/same": Hardlink("tree/file"),
      "tree/sub/x": b"x\n"})

ADD_TAR = Case("add_tar", """FROM {base}
ADD bundle.tar /opt/plain/
ADD bundle.tar.gz /opt/gz/
COPY bundle.tar /opt/raw/
""", {"bundle.tar": make_tar(), "bundle.tar.gz": make_tar(gzipped=True)})

DOCKERIGNORE = Case("dockerignore", """FROM {base}
COPY . /ctx/
""", {".dockerignore": b"# logs are noise\n*.log\n!keep.log\nsecret/\n**/*.tmp\n",
      "a.log": b"a\n", "keep.log": b"keep\n", "secret/key": b"key\n", "src/main.c": b"int main;\n",
      "src/deep/y.tmp": b"tmp\n", "src/deep/y.c": b"y\n"})

ENV_ARG = Case("env_arg", """ARG BASE={base}
FROM ${BASE}
ARG V=1
ARG UNSET
ENV P=/opt/$V Q="${UNSET:-dflt}" R=${V:+set}
ENV S=${P}/sub
WORKDIR $P
RUN echo "$V $P $Q $R $S" > out && pwd > pwd
""", build_args={"V": "2"})

USER_APP = Case("user", """FROM {base}
USER app
RUN id -u > /tmp/uid && id -g > /tmp/gid && touch /home/app/mine
""")

METADATA = Case("metadata", """FROM {base}
ENTRYPOINT ["/bin/echo", "entry"]
CMD ["arg"]
EXPOSE 8080 53/udp
LABEL org.example.a="one" b=two
VOLUME ["/data", "/logs"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD ["true"]
""")

CMD_RESET = Case("cmd_reset", """FROM {base} AS parent
CMD ["parent-cmd"]
LABEL inherited=yes
FROM parent
ENTRYPOINT ["/bin/echo"]
""")

COMPARED_CASES = [Case("base", BASE_DOCKERFILE, BASE_FILES), MULTI_STAGE, CHOWN_CHMOD, WHITEOUTS, LINKS, ADD_TAR, DOCKERIGNORE, ENV_ARG,
                  USER_APP, METADATA, CMD_RESET]


class Build:
    """One finished `strata builder` run."""

    def __init__(self, returncode, stderr, result, seconds):
        self.returncode = returncode
        self.stderr = stderr
        self.result = result
        self.seconds = seconds


@unittest.skipIf(builder_unavailable(), builder_unavailable() or "")
class BuilderTestCase(ServerTestCase):
    """A server, a base image built by strata, and helpers to run builds."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="strata-e2e-builder-")
        cls.addClassCleanup(remove_unless_mounted, cls.tmp)
        cls.work_dir = os.path.join(cls.tmp, "work")
        cls.token = cls.server.mint_registry_token("repository:base/*:pull,push",
                                                   "repository:builds/*:pull,push")
        cls.base_ref = cls.server.host + "/base/busybox:1"
        # The one build that reads its Dockerfile from the context.
        base = Case("base", BASE_DOCKERFILE, {**BASE_FILES, "Dockerfile": BASE_DOCKERFILE.encode()})
        build = cls.run_build(base, "base", repository="base/busybox", tag="1", dockerfile_text=None)
        if build.returncode != 0:
            raise AssertionError("base image build failed (%d):\n%s" % (build.returncode, build.stderr))
        cls.base = build.result

    @classmethod
    def build_config(cls, case, build_id, repository=None, tag="latest", **overrides):
        """Writes the context and build.json; returns the build.json path."""
        context = os.path.join(cls.tmp, build_id, "context")
        write_context(context, case.files)
        config = {
            "id": build_id,
            "context_dir": context,
            "dockerfile_text": case.text(cls.base_ref),
            "build_args": case.build_args,
            "registry": {"url": cls.server.base_url, "token": cls.token},
            "output": {"repository": repository or "builds/" + build_id, "tag": tag},
            "network_mode": "isolated",
            "timeout_seconds": 120,
            "work_dir": cls.work_dir,
            "result_path": os.path.join(cls.tmp, build_id, "result.json"),
        }
        config.update(overrides)
        path = os.path.join(cls.tmp, build_id, "build.json")
        with open(path, "w") as f:
            json.dump(config, f)
        return path

    @classmethod
    def run_build(cls, case, build_id, **kwargs):
        """Runs `strata builder` to the end; returns a Build."""
        config_path = cls.build_config(case, build_id, **kwargs)
        started = time.monotonic()
        proc = subprocess.run([default_strata_bin(), "builder", "--config", config_path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True, timeout=300)
        return Build(proc.returncode, proc.stderr, cls.read_result(build_id),
                     time.monotonic() - started)

    @classmethod
    def read_result(cls, build_id):
        try:
            with open(os.path.join(cls.tmp, build_id, "result.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def build_ok(self, case, build_id=None, **kwargs):
        """Builds `case` into builds/<build id>:latest; fails the test unless
        the build succeeds; returns the pulled imagefs.Image."""
        build_id = build_id or case.name
        build = self.run_build(case, build_id, **kwargs)
        self.assertEqual(build.returncode, 0, "build %s failed:\n%s" % (build_id, build.stderr))
        self.assertEqual(build.result["status"], "ready", build.result)
        image = imagefs.pull(self.client, "builds/" + build_id, "latest")
        self.assertEqual(image.digest, build.result["manifest_digest"])
        return image

    def assertNothingLeftBehind(self):
        """No mount under the work dir and no runc container in its state dir."""
        self.assertEqual(mounts_under(self.work_dir), [], "mounts left behind")
        listed = subprocess.run(["runc", "--root", os.path.join(self.work_dir, "runc"), "list", "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(listed.stdout.strip(), "", "runc containers left behind")

    def assertFile(self, fs, path, content, mode=None, owner=(0, 0)):
        entry = fs.get(path)
        self.assertIsNotNone(entry, "%s missing from the image" % path)
        self.assertEqual(entry.type, "file", path)
        self.assertEqual(entry.sha256, sha256_hex(content), "%s content" % path)
        if mode is not None:
            self.assertEqual(oct(entry.mode), oct(mode), "%s mode" % path)
        self.assertEqual((entry.uid, entry.gid), owner, "%s owner" % path)

    def assertAbsent(self, fs, *paths):
        present = [p for p in paths if p in fs]
        self.assertEqual(present, [], "paths that must not be in the image")

    def assertDir(self, fs, path, mode=0o755, owner=(0, 0)):
        entry = fs.get(path)
        self.assertIsNotNone(entry, "%s missing from the image" % path)
        self.assertEqual((entry.type, oct(entry.mode), entry.uid, entry.gid),
                         ("dir", oct(mode), *owner), path)


class StrataBuildTest(BuilderTestCase):

    def test_base_image_is_busybox_from_scratch_with_users(self):
        image = imagefs.pull(self.client, "base/busybox", "1")
        fs = image.filesystem()
        with open(BUSYBOX, "rb") as f:
            self.assertFile(fs, "bin/busybox", f.read(), 0o755)
        self.assertEqual(fs["bin/sh"].type, "symlink")
        self.assertEqual(fs["bin/sh"].link, "/bin/busybox")
        self.assertFile(fs, "etc/passwd", BASE_PASSWD, 0o644)
        self.assertFile(fs, "etc/group", BASE_GROUP, 0o644)
        self.assertDir(fs, "tmp", 0o1777)
        self.assertDir(fs, "home/app", 0o755, (1000, 1000))
        self.assertEqual(image.config["architecture"], "amd64")
        self.assertEqual(image.config["os"], "linux")
        # Like BuildKit, every stage without a PATH gets the default one.
        self.assertEqual(image.runtime_config.get("Env"), [DEFAULT_PATH])

    def test_multi_stage_copies_only_what_copy_from_names(self):
        fs = self.build_ok(MULTI_STAGE).filesystem()
        self.assertFile(fs, "app/artifact", b"built\n", 0o640)
        self.assertFile(fs, "app/copy", b"built\n", 0o644)
        self.assertAbsent(fs, "junk", "out")

    def test_chown_and_chmod_set_owner_and_mode_of_copied_files(self):
        fs = self.build_ok(CHOWN_CHMOD).filesystem()
        self.assertFile(fs, "srv/owned.txt", b"owned\n", 0o644, (1000, 1000))
        self.assertFile(fs, "srv/tool.sh", b"#!/bin/sh\n", 0o750, (1000, 1000))
        self.assertFile(fs, "srv/conf/a.conf", b"a=1\n", 0o600)
        self.assertFile(fs, "srv/conf/sub/b.conf", b"b=2\n", 0o600)

    def test_deleted_file_and_replaced_directory_are_whited_out(self):
        image = self.build_ok(WHITEOUTS)
        fs = image.filesystem()
        self.assertAbsent(fs, "gone.txt", "d/old", "d/sub", "d/sub/deep")
        self.assertFile(fs, "d/new", b"")
        self.assertFile(fs, "keep.txt", b"keep\n")
        # The deletions are in the layers as OCI whiteouts, not a squash.
        names = [name for layer in image.layers for name in imagefs.layer_names(layer)]
        self.assertIn(".wh.gone.txt", names)
        self.assertTrue({"d/.wh..wh..opq", ".wh.d"} & set(names), names[-10:])

    def test_symlinks_and_hard_links_survive_run_and_copy(self):
        fs = self.build_ok(LINKS).filesystem()
        for path, target in [("data/abs", "/data/t"), ("data/rel", "t"), ("data/dangling", "/nowhere"),
                             ("tree/link", "file")]:
            self.assertEqual((fs[path].type, fs[path].link), ("symlink", target), path)
        self.assertFile(fs, "data/hard", b"target\n")
        self.assertEqual(fs["data/hard"].hardlinks, ("data/hard", "data/t"))
        self.assertEqual(fs["tree/same"].hardlinks, ("tree/file", "tree/same"))
        self.assertFile(fs, "tree/sub/x", b"x\n")

    def test_add_extracts_local_tars_and_copy_does_not(self):
        fs = self.build_ok(ADD_TAR).filesystem()
        for root in ("opt/plain", "opt/gz"):
            self.assertDir(fs, root + "/pkg/bin", 0o750, (1000, 1000))
            self.assertFile(fs, root + "/pkg/bin/run.sh", b"#!/bin/sh\necho run\n", 0o4755)
            self.assertFile(fs, root + "/pkg/README", b"read me\n", 0o600, (1000, 1000))
            self.assertEqual(fs[root + "/pkg/latest"].link, "bin/run.sh")
            self.assertEqual(fs[root + "/pkg/README.hard"].hardlinks,
                             (root + "/pkg/README", root + "/pkg/README.hard"))
        self.assertFile(fs, "opt/raw/bundle.tar", make_tar())
        self.assertAbsent(fs, "opt/raw/pkg")

    def test_dockerignore_excludes_files_and_keeps_exceptions(self):
        fs = self.build_ok(DOCKERIGNORE).filesystem()
        self.assertAbsent(fs, "ctx/a.log")
        self.assertFile(fs, "ctx/keep.log", b"keep\n")
        self.assertAbsent(fs, "ctx/secret", "ctx/secret/key", "ctx/src/deep/y.tmp")
        self.assertFile(fs, "ctx/src/deep/y.c", b"y\n")
        self.assertFile(fs, "ctx/src/main.c", b"int main;\n")

    def test_build_args_and_env_expand_in_env_workdir_and_run(self):
        image = self.build_ok(ENV_ARG)
        fs = image.filesystem()
        env = image.runtime_config["Env"]
        for var in ["P=/opt/2", "Q=dflt", "R=set", "S=/opt/2/sub"]:
            self.assertIn(var, env)
        self.assertFalse([e for e in env if e.startswith(("V=", "BASE=", "UNSET="))], env)
        self.assertEqual(image.runtime_config["WorkingDir"], "/opt/2")
        self.assertFile(fs, "opt/2/out", b"2 /opt/2 dflt set /opt/2/sub\n")
        self.assertFile(fs, "opt/2/pwd", b"/opt/2\n")

    def test_user_runs_later_steps_as_that_user(self):
        image = self.build_ok(USER_APP)
        fs = image.filesystem()
        self.assertEqual(image.runtime_config["User"], "app")
        self.assertFile(fs, "tmp/uid", b"1000\n", owner=(1000, 1000))
        self.assertFile(fs, "tmp/gid", b"1000\n", owner=(1000, 1000))
        self.assertFile(fs, "home/app/mine", b"", owner=(1000, 1000))

    def test_metadata_instructions_land_in_the_config(self):
        image = self.build_ok(METADATA)
        config = image.runtime_config
        self.assertEqual(config["Entrypoint"], ["/bin/echo", "entry"])
        self.assertEqual(config["Cmd"], ["arg"])
        self.assertEqual(config["ExposedPorts"], {"8080/tcp": {}, "53/udp": {}})
        self.assertEqual(config["Labels"], {"org.example.a": "one", "b": "two"})
        self.assertEqual(config["Volumes"], {"/data": {}, "/logs": {}})
        self.assertEqual(config["StopSignal"], "SIGINT")
        self.assertEqual(config["Healthcheck"], {"Test": ["CMD", "true"], "Interval": 5000000000,
                                                 "Timeout": 2000000000, "Retries": 4})
        # Metadata-only steps add history without layers.
        self.assertEqual(len(image.manifest["layers"]), len(self.base["layers"]))
        self.assertTrue(all(h.get("empty_layer") for h in image.config["history"][-7:]))

    def test_entrypoint_resets_inherited_cmd(self):
        config = self.build_ok(CMD_RESET).runtime_config
        self.assertEqual(config["Entrypoint"], ["/bin/echo"])
        self.assertIsNone(config.get("Cmd"))
        self.assertEqual(config["Labels"], {"inherited": "yes"})

    def test_secret_is_readable_during_run_and_in_no_layer(self):
        secret = b"s3cret-" + os.urandom(8).hex().encode()
        secret_file = os.path.join(self.tmp, "tok.secret")
        with open(secret_file, "wb") as f:
            f.write(secret)
        case = Case("secret", """FROM {base}
RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -d' ' -f1 > /secret.sha
""")
        image = self.build_ok(case, secrets=[{"id": "tok", "path": secret_file}])
        fs = image.filesystem()
        self.assertFile(fs, "secret.sha", (sha256_hex(secret) + "\n").encode())
        self.assertAbsent(fs, "run/secrets/tok")
        for i, layer in enumerate(image.layers):
            self.assertFalse(secret in layer, "secret bytes in layer %d" % i)
            self.assertFalse("run/secrets/tok" in imagefs.layer_names(layer), "secret file in layer %d" % i)

    def test_cache_mount_persists_across_builds_of_a_scope_and_stays_out_of_layers(self):
        scope = "e2e-" + os.urandom(4).hex()
        case = Case("cache", """FROM {base}
RUN --mount=type=cache,target=/cache echo x >> /cache/log && wc -l < /cache/log > /count
""")
        first = self.build_ok(case, "cache-1", cache_mount_scope=scope).filesystem()
        second = self.build_ok(case, "cache-2", cache_mount_scope=scope)
        self.assertEqual(first["count"].sha256, sha256_hex(b"1\n"))
        self.assertFile(second.filesystem(), "count", b"2\n")
        for i, layer in enumerate(second.layers):
            self.assertFalse("cache/log" in imagefs.layer_names(layer), "cache content in layer %d" % i)
        other_scope = self.build_ok(case, "cache-3", cache_mount_scope=scope + "-other")
        self.assertFile(other_scope.filesystem(), "count", b"1\n")
        # The cache lives on the builder host in the scope's own volume (its
        # disk quota), unmounted once no build uses it.
        scope_dir = os.path.join(self.work_dir, "cache-mounts", scope)
        self.assertEqual(mounts_under(os.path.join(self.work_dir, "cache-mounts")), [])
        look = tempfile.mkdtemp(prefix="strata-e2e-cache-volume-")
        subprocess.run(["mount", "-o", "loop,ro", scope_dir + ".img", look], check=True)
        try:
            logs = [os.path.join(d, "log") for d, _, names in os.walk(look) if "log" in names]
            self.assertEqual(len(logs), 1, logs)
            with open(logs[0], "rb") as f:
                self.assertEqual(f.read(), b"x\nx\n")
        finally:
            subprocess.run(["umount", look], check=True)
            os.rmdir(look)

    def test_failing_run_fails_with_its_exit_code_and_output_and_pushes_nothing(self):
        case = Case("fail", "FROM {base}\nRUN echo boom-output && exit 7\n")
        build = self.run_build(case, "fail")
        self.assertEqual(build.returncode, 1, build.stderr)
        self.assertEqual(build.result["status"], "failed", build.result)
        self.assertIn("exit code: 7", build.result["error"])
        self.assertIn('process "/bin/sh -c echo boom-output && exit 7" did not complete '
                      'successfully: exit code: 7', build.stderr)
        self.assertIn("boom-output", build.stderr)
        self.assertRegex(build.stderr, r"(?m)^#\d+ ERROR: ")
        self.assertEqual(imagefs.manifest_status(self.client, "builds/fail", "latest"), 404)
        self.assertNothingLeftBehind()

    def test_sigterm_during_run_cancels_and_cleans_up(self):
        case = Case("cancel", "FROM {base}\nRUN sleep 30\n")
        config_path = self.build_config(case, "cancel")
        started = time.monotonic()
        proc = subprocess.Popen([default_strata_bin(), "builder", "--config", config_path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True)
        try:
            self.wait_for_container(proc)
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 1, stderr)
        self.assertLess(time.monotonic() - started, 25)
        result = self.read_result("cancel")
        self.assertEqual(result, {"status": "failed", "error": "cancelled"})
        self.assertEqual(imagefs.manifest_status(self.client, "builds/cancel", "latest"), 404)
        self.assertNothingLeftBehind()

    def wait_for_container(self, proc, timeout=30):
        """Waits until the build's RUN container is running under runc."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assertIsNone(proc.poll(), "builder exited before its RUN started")
            listed = subprocess.run(["runc", "--root", os.path.join(self.work_dir, "runc"), "list"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            if "running" in listed.stdout:
                return
            time.sleep(0.1)
        self.fail("no running container within %ss" % timeout)

    def test_timeout_kills_the_build_and_cleans_up(self):
        case = Case("timeout", "FROM {base}\nRUN sleep 30\n")
        build = self.run_build(case, "timeout", timeout_seconds=2)
        self.assertEqual(build.returncode, 1, build.stderr)
        self.assertIn("RUN sleep 30", build.stderr, "the timeout must hit while RUN runs")
        self.assertLess(build.seconds, 20)
        self.assertEqual(build.result, {"status": "failed", "error": "timeout after 2s"})
        self.assertEqual(imagefs.manifest_status(self.client, "builds/timeout", "latest"), 404)
        self.assertNothingLeftBehind()

    def test_same_inputs_and_source_date_epoch_give_the_same_digest(self):
        case = Case("sde", """FROM {base}
COPY . /src/
RUN echo made > /made && mkdir /dir && touch /dir/f
LABEL built=yes
""", {"a.txt": b"a\n", "sub/b.txt": Mode(b"b\n", 0o600)})
        first = self.build_ok(case, "sde-1", source_date_epoch=SOURCE_DATE_EPOCH)
        time.sleep(1.1)  # the second context's files get later mtimes
        second = self.build_ok(case, "sde-2", source_date_epoch=SOURCE_DATE_EPOCH)
        self.assertEqual(first.digest, second.digest)
        # The build arg SOURCE_DATE_EPOCH clamps the same way as the config field.
        from_arg = self.build_ok(case, "sde-3", build_args={"SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)})
        for image in (first, from_arg):
            self.assertEqual(image.config["created"], "2023-11-14T22:13:20Z")
            for layer in image.layers[len(self.base["layers"]):]:
                with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
                    late = [m.name for m in tar.getmembers() if m.mtime > SOURCE_DATE_EPOCH]
                self.assertEqual(late, [], "mtimes after SOURCE_DATE_EPOCH")


def buildah_unavailable():
    return builder_unavailable() or (None if shutil.which("buildah") else "buildah is not installed")


@unittest.skipIf(buildah_unavailable(), buildah_unavailable() or "")
class BuildahCompatibilityTest(BuilderTestCase):
    """The same Dockerfile and context built by buildah and by strata give the
    same flattened filesystem and config fields."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        storage = os.path.join(cls.tmp, "buildah")
        # vfs storage in a temp dir leaves the host's containers storage alone;
        # chroot isolation runs RUN without a runtime config buildah would
        # otherwise need (crun, which does not work here).
        cls.buildah = ["buildah", "--storage-driver", "vfs", "--root", os.path.join(storage, "root"),
                       "--runroot", os.path.join(storage, "runroot")]

    def buildah_build(self, case):
        """`buildah bud` of the case, pushed to compat/<name>; returns the
        pulled imagefs.Image."""
        context = os.path.join(self.tmp, "buildah-" + case.name)
        write_context(context, case.files)
        dockerfile = os.path.join(self.tmp, "buildah-" + case.name + ".Dockerfile")
        with open(dockerfile, "w") as f:
            f.write(case.text(self.base_ref))
        tag = "localhost/compat-%s:latest" % case.name
        args = ["bud", "--isolation", "chroot", "--tls-verify=false",
                "--creds", self.server.registry_creds(), "-f", dockerfile, "-t", tag]
        for key, value in case.build_args.items():
            args += ["--build-arg", "%s=%s" % (key, value)]
        run_tool(self.buildah + args + [context], timeout=300)
        run_tool(self.buildah + ["push", "--tls-verify=false", "--creds", self.server.registry_creds(),
                                 tag, "docker://%s/compat/%s:latest" % (self.server.host, case.name)])
        return imagefs.pull(self.client, "compat/" + case.name, "latest")

    def compare(self, case):
        ours = self.build_ok(case)
        theirs = self.buildah_build(case)
        ours_fs, theirs_fs = ours.filesystem(), without_run_stubs(theirs.filesystem())
        differences = ["%s:\n  strata  %s\n  buildah %s" % (path, ours_fs.get(path), theirs_fs.get(path))
                       for path in sorted(set(ours_fs) | set(theirs_fs))
                       if ours_fs.get(path) != theirs_fs.get(path)]
        theirs_labels = theirs.runtime_config.get("Labels") or {}
        theirs.runtime_config["Labels"] = {k: v for k, v in theirs_labels.items()
                                           if k not in BUILDAH_OWN_LABELS}
        ours_config, theirs_config = compared_config(ours), compared_config(theirs)
        differences += ["config %s:\n  strata  %s\n  buildah %s" % (k, ours_config[k], theirs_config[k])
                        for k in COMPARED_CONFIG_FIELDS if ours_config[k] != theirs_config[k]]
        if differences:
            self.fail("strata and buildah images of %s differ in %d places:\n%s"
                      % (case.name, len(differences), "\n".join(differences[:30])))


def without_run_stubs(fs):
    """fs without buildah's leftover RUN mount points (BUILDAH_RUN_STUBS)."""
    def stub(path):
        entry = fs[path]
        if entry.type == "dir":
            return not any(p.startswith(path + "/") for p in fs)
        return entry.type == "file" and entry.size == 0
    return {path: entry for path, entry in fs.items()
            if not (path in BUILDAH_RUN_STUBS and stub(path))}


def compared_config(image):
    """The compared config fields; an empty value counts as absent."""
    return {k: image.runtime_config.get(k) or None for k in COMPARED_CONFIG_FIELDS}


def _compat_test(case):
    def test(self):
        self.compare(case)
    test.__name__ = "test_%s_matches_buildah" % case.name
    return test


for _case in COMPARED_CASES:
    setattr(BuildahCompatibilityTest, "test_%s_matches_buildah" % _case.name, _compat_test(_case))


if __name__ == "__main__":
    unittest.main()
