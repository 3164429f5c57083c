"""OCI content generated offline for the end-to-end tests.

Everything is deterministic for a given seed (fixed tar/gzip timestamps,
seeded pseudo-random file contents), so digests are stable across runs, and
small enough to build in milliseconds. write_oci_layout() writes the content
as an OCI image layout directory that skopeo and podman read with `oci:DIR:TAG`.
"""

import gzip
import hashlib
import io
import json
import os
import random
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def canonical_json(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


class Blob:
    def __init__(self, data, media_type):
        self.data = data
        self.media_type = media_type
        self.digest = "sha256:" + hashlib.sha256(data).hexdigest()

    def descriptor(self, **extra):
        desc = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}
        desc.update(extra)
        return desc


def random_bytes(seed, size):
    return random.Random(seed).randbytes(size)


def make_layer(seed, files=3, file_size=4096, media_type=OCI_LAYER_GZIP):
    """A gzip'd tar with `files` regular files of seeded content.
    Returns (blob, diff_id) where diff_id is the digest of the plain tar."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo("layer%s" % seed)
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        directory.mtime = 1700000000
        tar.addfile(directory)
        for i in range(files):
            content = random_bytes("%s/%d" % (seed, i), file_size)
            info = tarfile.TarInfo("layer%s/file%d.bin" % (seed, i))
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    compressed = gzip.compress(tar_bytes, mtime=0)
    return Blob(compressed, media_type), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def make_config(diff_ids, os_name="linux", arch="amd64", media_type=OCI_CONFIG):
    doc = {
        "architecture": arch,
        "os": os_name,
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "strata e2e fixture"}
                    for _ in diff_ids],
    }
    return Blob(canonical_json(doc), media_type)


class Image:
    """An image manifest with its config and layers."""

    def __init__(self, config, layers, manifest, media_type, platform=None):
        self.config = config
        self.layers = layers
        self.manifest = manifest  # exact bytes as pushed
        self.media_type = media_type
        self.platform = platform
        self.digest = "sha256:" + hashlib.sha256(manifest).hexdigest()

    def blobs(self):
        return [self.config] + self.layers

    def descriptor(self):
        desc = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest)}
        if self.platform:
            desc["platform"] = self.platform
        return desc


def make_image(seed, layers=3, arch="amd64", docker=False, subject=None,
               artifact_type=None, annotations=None):
    """An OCI (or Docker schema2 with docker=True) image of `layers` layers.
    subject/artifact_type make it a referrer of another manifest."""
    layer_type = DOCKER_LAYER_GZIP if docker else OCI_LAYER_GZIP
    built = [make_layer("%s-%d" % (seed, i), media_type=layer_type) for i in range(layers)]
    config = make_config([diff for _, diff in built], arch=arch,
                         media_type=DOCKER_CONFIG if docker else OCI_CONFIG)
    media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    doc = {"schemaVersion": 2, "mediaType": media_type,
           "config": config.descriptor(), "layers": [b.descriptor() for b, _ in built]}
    if artifact_type:
        doc["artifactType"] = artifact_type
    if subject is not None:
        doc["subject"] = subject
    if annotations:
        doc["annotations"] = annotations
    # Indented on purpose: registries must keep manifest bytes as pushed.
    manifest = json.dumps(doc, indent=2).encode()
    return Image(config, [b for b, _ in built], manifest, media_type,
                 {"architecture": arch, "os": "linux"})


class Index:
    """An image index (or Docker manifest list) and its child images."""

    def __init__(self, images, docker=False):
        self.images = images
        self.media_type = DOCKER_LIST if docker else OCI_INDEX
        doc = {"schemaVersion": 2, "mediaType": self.media_type,
               "manifests": [image.descriptor() for image in images]}
        self.manifest = json.dumps(doc, indent=2).encode()
        self.digest = "sha256:" + hashlib.sha256(self.manifest).hexdigest()

    def descriptor(self):
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest)}


def make_multiplatform_index(seed, docker=False):
    """linux/amd64 and linux/arm64, each its own multi-layer image."""
    return Index([make_image("%s-amd64" % seed, layers=3, arch="amd64", docker=docker),
                  make_image("%s-arm64" % seed, layers=2, arch="arm64", docker=docker)],
                 docker=docker)


def write_oci_layout(directory, tagged):
    """Writes an OCI image layout. tagged: {tag: Image or Index}."""
    blobs_dir = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs_dir, exist_ok=True)

    def put(digest, data):
        with open(os.path.join(blobs_dir, digest.split(":", 1)[1]), "wb") as f:
            f.write(data)

    def put_image(image):
        for blob in image.blobs():
            put(blob.digest, blob.data)
        put(image.digest, image.manifest)

    entries = []
    for tag, item in tagged.items():
        if isinstance(item, Index):
            for image in item.images:
                put_image(image)
            put(item.digest, item.manifest)
        else:
            put_image(item)
        desc = item.descriptor()
        desc.pop("platform", None)
        desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
        entries.append(desc)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, f)
    return directory


def layout_blobs(directory):
    """{digest: sha256 of content} for every blob file of a layout, so a caller
    can check both the set of blobs and that each file matches its name."""
    result = {}
    blobs_dir = os.path.join(directory, "blobs", "sha256")
    for name in os.listdir(blobs_dir):
        with open(os.path.join(blobs_dir, name), "rb") as f:
            result["sha256:" + name] = "sha256:" + hashlib.sha256(f.read()).hexdigest()
    return result


def layout_ref(directory, tag):
    """The descriptor index.json gives for `tag`, or None."""
    with open(os.path.join(directory, "index.json")) as f:
        index = json.load(f)
    for desc in index.get("manifests", []):
        if desc.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return desc
    return None
