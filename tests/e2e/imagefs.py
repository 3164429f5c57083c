"""An image's flattened filesystem, pulled back from a registry over HTTP.

pull() reads the manifest (an index is resolved to linux/amd64), the config
and every layer with a harness Client, decompresses the layers (gzip, zstd
through the `zstd` tool, or plain tar) and checks each against its diff-id in
the config. Image.filesystem() applies the layers in order the way a runtime
unpacks them: a layer's OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`) hide only
what lower layers hold, then its entries are laid down. The result maps each
path (relative, no leading "./" or "/"; the root itself is left out) to an
Entry; hard links come back as regular files that name their link group, so
two images compare equal whatever order their tars list the links in.

Contract: everything is in memory (fine for test images of a few MiB); a
manifest, blob or diff-id mismatch raises AssertionError naming what failed.
"""

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from typing import NamedTuple, Optional, Tuple

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


class Entry(NamedTuple):
    """One path of a flattened filesystem. type: file, dir, symlink, char,
    block or fifo; mode: permission and special bits (mode & 0o7777); sha256
    and size for files only; link: a symlink's target; hardlinks: for a file
    with more than one name, every name of it, sorted (else None)."""
    type: str
    mode: int
    uid: int
    gid: int
    size: int
    sha256: Optional[str]
    link: Optional[str]
    hardlinks: Optional[Tuple[str, ...]]


_TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file",
          tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char",
          tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}


def normalize(name):
    """A tar member name as a flattened-map path: "./a/b/" -> "a/b"."""
    while name.startswith("./"):
        name = name[2:]
    return name.strip("/")


def decompress(blob):
    """The plain tar of a layer blob (gzip, zstd or uncompressed)."""
    if blob[:2] == b"\x1f\x8b":
        return gzip.decompress(blob)
    if blob[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-d", "-c"], input=blob, stdout=subprocess.PIPE,
                              check=True).stdout
    return blob


def layer_names(layer_tar):
    """Member names of one layer tar, normalized, in tar order."""
    with tarfile.open(fileobj=io.BytesIO(layer_tar), mode="r:") as tar:
        return [normalize(info.name) for info in tar.getmembers()]


class _Node:
    """A flattened path while layers are applied; `inode` groups hard links."""

    def __init__(self, entry, inode):
        self.entry = entry
        self.inode = inode


class Image:
    """A pulled image: manifest and config (parsed JSON), the manifest digest
    and the layers as plain tars, lowest first."""

    def __init__(self, manifest, digest, config, layers):
        self.manifest = manifest
        self.digest = digest
        self.config = config
        self.layers = layers

    @property
    def runtime_config(self):
        """The config's `config` object (Env, Cmd, User, ...); {} if absent."""
        if not self.config.get("config"):
            self.config["config"] = {}
        return self.config["config"]

    def filesystem(self):
        """{path: Entry} after applying every layer."""
        nodes = {}
        next_inode = [0]

        def new_inode():
            next_inode[0] += 1
            return next_inode[0]

        for layer in self.layers:
            with tarfile.open(fileobj=io.BytesIO(layer), mode="r:") as tar:
                members = tar.getmembers()
                # Whiteouts hide lower layers only, wherever the tar lists them.
                for info in members:
                    parent, _, name = normalize(info.name).rpartition("/")
                    if name == OPAQUE:
                        _remove_below(nodes, parent)
                    elif name.startswith(WHITEOUT):
                        hidden = (parent + "/" if parent else "") + name[len(WHITEOUT):]
                        nodes.pop(hidden, None)
                        _remove_below(nodes, hidden)
                for info in members:
                    path = normalize(info.name)
                    name = path.rpartition("/")[2]
                    if not path or name.startswith(WHITEOUT):
                        continue
                    _apply(tar, info, path, nodes, new_inode)
        groups = {}
        for path, node in nodes.items():
            groups.setdefault(node.inode, []).append(path)
        result = {}
        for path, node in nodes.items():
            names = groups[node.inode]
            hardlinks = tuple(sorted(names)) if len(names) > 1 else None
            result[path] = node.entry._replace(hardlinks=hardlinks)
        return result


def _remove_below(nodes, directory):
    prefix = directory + "/" if directory else ""
    for path in [p for p in nodes if p.startswith(prefix) and p != directory]:
        del nodes[path]


def _apply(tar, info, path, nodes, new_inode):
    old = nodes.get(path)
    if info.islnk():
        target = nodes.get(normalize(info.linkname))
        if target is None:
            raise AssertionError("hard link %s -> %s: no such file" % (path, info.linkname))
        nodes[path] = target
        return
    kind = _TYPES.get(info.type)
    if kind is None:
        raise AssertionError("%s: unexpected tar entry type %r" % (path, info.type))
    if old is not None and old.entry.type == "dir" and kind != "dir":
        _remove_below(nodes, path)
    content_hash, size = None, 0
    if kind == "file":
        content = tar.extractfile(info).read()
        content_hash, size = hashlib.sha256(content).hexdigest(), len(content)
    entry = Entry(kind, info.mode & 0o7777, info.uid, info.gid, size, content_hash,
                  info.linkname if kind == "symlink" else None, None)
    nodes[path] = _Node(entry, new_inode())


def content_sha256(data):
    return hashlib.sha256(data).hexdigest()


def pull(client, repository, reference, platform=("linux", "amd64")):
    """Reads an image from the registry with `client` (a harness Client that
    carries its own token); returns an Image."""
    manifest, digest = _get_manifest(client, repository, reference)
    if manifest.get("mediaType") in (OCI_INDEX, DOCKER_LIST) or "manifests" in manifest:
        chosen = [m for m in manifest["manifests"]
                  if (m.get("platform", {}).get("os"), m.get("platform", {}).get("architecture"))
                  == tuple(platform)]
        if not chosen:
            raise AssertionError("%s:%s has no %s/%s manifest" % (repository, reference, *platform))
        manifest, digest = _get_manifest(client, repository, chosen[0]["digest"])

    def blob(descriptor):
        resp = client.request("GET", "/v2/%s/blobs/%s" % (repository, descriptor["digest"]))
        if resp.status != 200:
            raise AssertionError("blob %s of %s: %r" % (descriptor["digest"], repository, resp))
        if "sha256:" + content_sha256(resp.body) != descriptor["digest"]:
            raise AssertionError("blob %s of %s does not match its digest"
                                 % (descriptor["digest"], repository))
        return resp.body

    config = json.loads(blob(manifest["config"]))
    layers = [decompress(blob(layer)) for layer in manifest["layers"]]
    diff_ids = ["sha256:" + content_sha256(layer) for layer in layers]
    if diff_ids != config.get("rootfs", {}).get("diff_ids"):
        raise AssertionError("%s:%s layers %s do not match the config's diff_ids %s"
                             % (repository, reference, diff_ids, config.get("rootfs")))
    return Image(manifest, digest, config, layers)


def manifest_status(client, repository, reference):
    """HTTP status of GET manifest (200 if it exists, 404 if not)."""
    return client.request("GET", "/v2/%s/manifests/%s" % (repository, reference),
                          {"Accept": ACCEPT}).status


def _get_manifest(client, repository, reference):
    resp = client.request("GET", "/v2/%s/manifests/%s" % (repository, reference),
                          {"Accept": ACCEPT})
    if resp.status != 200:
        raise AssertionError("manifest %s:%s: %r" % (repository, reference, resp))
    return resp.json(), "sha256:" + content_sha256(resp.body)
