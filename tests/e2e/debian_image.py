"""A Debian 12 base image with apt, made offline from this host's packages.

The e2e tests that need a real distribution in a build (`apt-get update` in
an egress build, attacks from a full userland) cannot pull one: the machine
has no registry with Debian on it. This module makes one from what is
installed here instead: every file `dpkg -L` lists for apt, dash, coreutils,
base-files, debian-archive-keyring, libc-bin, findutils, grep and sed and the
installed closure of their Depends/Pre-Depends (documentation, manual pages,
locales and gconv modules left out), laid out merged-/usr like Debian 12,
plus the alternatives links (awk) chosen among those files, an /etc/passwd
and /etc/group with root, _apt and nobody, an empty dpkg status, apt's state
dirs, and an /etc/apt/sources.list for http://deb.debian.org/debian bookworm.

debian_image() returns it as a fixtures.Image (one gzip'd layer, OCI
manifest); push_debian_image(client, repository, tag) pushes it and returns
its digest. The layer is made once per test run (about 50 MB of files, a few
seconds) and cached in a temp dir named after this process, removed at exit.
Needs a Debian host with those packages installed (dpkg-query, apt).
"""

import atexit
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile

import fixtures

# apt-key, which apt's gpgv method runs, also needs find, grep and sed.
ROOT_PACKAGES = ["apt", "dash", "coreutils", "base-files", "debian-archive-keyring", "libc-bin",
                 "findutils", "grep", "sed"]
SKIPPED_PREFIXES = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/locale/", "/usr/share/info/",
                    "/usr/share/lintian/", "/usr/lib/x86_64-linux-gnu/gconv/", "/usr/share/i18n/")
MERGED_USR = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}
SOURCES_LIST = b"deb http://deb.debian.org/debian bookworm main\n"
PASSWD = (b"root:x:0:0:root:/root:/bin/sh\n"
          b"_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n"
          b"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
GROUP = b"root:x:0:\nnogroup:x:65534:\n"
MTIME = 1700000000

_cache = {}


def installed_closure(roots=ROOT_PACKAGES):
    """The installed packages `roots` need: Depends and Pre-Depends followed
    through the first installed alternative (or provider)."""
    listing = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Provides}\t${Pre-Depends}, ${Depends}\n"],
        stdout=subprocess.PIPE, check=True, text=True).stdout
    depends, providers = {}, {}
    for line in listing.splitlines():
        name, status, provides, needs = line.split("\t")
        if "install ok installed" not in status:
            continue
        depends[name] = needs
        for provided in provides.split(","):
            provided = provided.strip().split(" ")[0]
            if provided:
                providers.setdefault(provided, name)

    def installed(alternatives):
        for alternative in alternatives.split("|"):
            name = alternative.strip().split(" ")[0].split(":")[0]
            if name in depends:
                return name
            if name in providers:
                return providers[name]
        return None

    seen, todo = set(), list(roots)
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        for clause in depends[package].split(","):
            if clause.strip() and installed(clause):
                todo.append(installed(clause))
    return sorted(seen)


def packaged_paths(packages):
    """The host paths of the packages' files (a diverted one as it is on disk)."""
    listed = subprocess.run(["dpkg", "-L", *packages], stdout=subprocess.PIPE, check=True,
                            text=True).stdout.splitlines()
    return sorted({path for path in listed if path.startswith("/") and not path.startswith(SKIPPED_PREFIXES)})


def image_path(host_path):
    """Where a packaged path lives in a merged-/usr image: its directory with
    symlinks resolved (so /bin/sh is usr/bin/sh), without the leading '/'."""
    directory, name = os.path.split(host_path)
    return os.path.join(os.path.realpath(directory), name).lstrip("/")


def _add_generated(tar, name, data=b"", mode=0o644, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.linkname = kind, mode, MTIME, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _rootfs_tar():
    raw = io.BytesIO()
    added = set()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for link, target in MERGED_USR.items():
            _add_generated(tar, link, kind=tarfile.SYMTYPE, link=target, mode=0o777)
            added.add(link)
        for host_path in packaged_paths(installed_closure()):
            name = image_path(host_path)
            if name in added or not os.path.lexists(host_path):
                continue
            st = os.lstat(host_path)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                continue
            # Parents first, as any tar reader expects.
            parts = name.split("/")
            for depth in range(1, len(parts)):
                parent = "/".join(parts[:depth])
                if parent not in added:
                    _add_generated(tar, parent, kind=tarfile.DIRTYPE, mode=0o755)
                    added.add(parent)
            info = tar.gettarinfo(host_path, arcname=name)
            info.uname = info.gname = ""
            if info.isreg():
                with open(host_path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            added.add(name)
        # Alternatives (awk -> mawk) are links made by maintainer scripts, not
        # packaged files: take the master links whose choice is in the image.
        for name in sorted(os.listdir("/var/lib/dpkg/alternatives")):
            choice = os.path.join("/etc/alternatives", name)
            with open(os.path.join("/var/lib/dpkg/alternatives", name)) as f:
                link = f.read().splitlines()[1]
            if not os.path.islink(choice) or image_path(os.readlink(choice)) not in added:
                continue
            for path, target in [(choice, os.readlink(choice)), (link, choice)]:
                if image_path(path) not in added:
                    _add_generated(tar, image_path(path), kind=tarfile.SYMTYPE, link=target, mode=0o777)
                    added.add(image_path(path))
        for directory, mode in [("root", 0o700), ("tmp", 0o1777), ("var/lib/dpkg", 0o755),
                                ("var/lib/apt/lists/partial", 0o700),
                                ("var/cache/apt/archives/partial", 0o700), ("var/log/apt", 0o755)]:
            parts = directory.split("/")
            for depth in range(1, len(parts) + 1):
                path = "/".join(parts[:depth])
                if path not in added:
                    _add_generated(tar, path, kind=tarfile.DIRTYPE, mode=mode if depth == len(parts) else 0o755)
                    added.add(path)
        for name, data in [("etc/passwd", PASSWD), ("etc/group", GROUP), ("etc/apt/sources.list", SOURCES_LIST),
                           ("var/lib/dpkg/status", b"")]:
            _add_generated(tar, name, data)
    return raw.getvalue()


def _cache_dir():
    if "dir" not in _cache:
        _cache["dir"] = tempfile.mkdtemp(prefix="strata-e2e-debian-%d-" % os.getpid())
        atexit.register(shutil.rmtree, _cache["dir"], True)
    return _cache["dir"]


def debian_image():
    """The image as a fixtures.Image, made once per test run."""
    if "image" in _cache:
        return _cache["image"]
    path = os.path.join(_cache_dir(), "layer.tar.gz")
    if os.path.exists(path):
        with open(path, "rb") as f:
            compressed = f.read()
        diff_id = "sha256:" + hashlib.sha256(gzip.decompress(compressed)).hexdigest()
    else:
        tar_bytes = _rootfs_tar()
        diff_id = "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
        compressed = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
        with open(path, "wb") as f:
            f.write(compressed)
    layer = fixtures.Blob(compressed, fixtures.OCI_LAYER_GZIP)
    config = fixtures.Blob(fixtures.canonical_json({
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2023-11-14T22:13:20Z",
                     "created_by": "strata e2e: Debian 12 with apt, from the host's packages"}],
    }), fixtures.OCI_CONFIG)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": fixtures.OCI_MANIFEST,
                           "config": config.descriptor(), "layers": [layer.descriptor()]}).encode()
    _cache["image"] = fixtures.Image(config, [layer], manifest, fixtures.OCI_MANIFEST,
                                     {"architecture": "amd64", "os": "linux"})
    return _cache["image"]


def push_debian_image(client, repository="base/debian", tag="bookworm"):
    """Pushes the image with `client` (a harness.Client allowed to push
    there); returns its manifest digest."""
    return client.push_image(repository, tag, debian_image())
