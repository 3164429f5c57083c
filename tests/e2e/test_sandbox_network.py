"""The build network (issue 9) end to end: real `strata serve`, real runc builds.

SandboxNetworkTest starts Distribution's docker-registry on loopback first, then
a strata server whose --registry-allow names that registry (127.0.0.1:<port>),
pushes the busybox base (test_builder.BuilderTestCase) and a Debian 12 image
with apt made offline from this host's packages (debian_image.py), and checks:
- an egress build resolves names and runs `apt-get update` against the Debian
  mirror (the one place a test's traffic leaves the host: deb.debian.org, as
  apt does);
- steps get Docker's /etc/hosts and /etc/hostname (and, with egress, a
  resolv.conf naming slirp4netns's resolver), never the host's, and none of
  them ends up in a layer;
- an isolated build, and RUN --network=none in an egress build, see only `lo`;
  RUN --network=host in an egress build gets the build's own namespace (lo
  and tap0), never the host's interfaces;
- a registry in --registry-allow can be pulled FROM, and one that is not
  (the same registry under another name) is refused with "registry not
  allowed" before any connection.
The attacks (reaching the server or a host listener from an egress step,
FROM 127.0.0.1:<port> of a listener, raw sockets) are in test_tenant_attacks.

Needs what the build API suite needs (root, runc, busybox-static) plus
slirp4netns, nftables, docker-registry and the Debian mirror.
"""

import io
import shutil
import tarfile
import unittest

import debian_image
import fixtures
import imagefs
from harness import Server
from test_builds_api import BuildServiceTestCase
from test_builder_smoke import builder_unavailable

HOSTS = "127.0.0.1\tlocalhost strata\n::1\tlocalhost ip6-localhost ip6-loopback\n"


def network_unavailable():
    for tool in ("slirp4netns", "nft", "docker-registry"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    return builder_unavailable()


@unittest.skipIf(network_unavailable(), network_unavailable() or "")
class SandboxNetworkTest(BuildServiceTestCase):

    @classmethod
    def setUpClass(cls):
        # The second registry must be listening before the server starts,
        # so its address can be allowed.
        cls.other_registry = Server(target="distribution")
        cls.addClassCleanup(cls.other_registry.cleanup)
        cls.other_registry.start()
        cls.other_client = cls.other_registry.client()
        cls.extra_serve_args = ("--registry-allow", cls.other_registry.host)
        super().setUpClass()
        cls.debian_ref = cls.server.host + "/base/debian:bookworm"
        debian_image.push_debian_image(cls.client, "base/debian", "bookworm")

    def file_of(self, image, path):
        """The content of `path` in the topmost layer that has it."""
        for layer in reversed(image.layers):
            with tarfile.open(fileobj=io.BytesIO(layer), mode="r:") as tar:
                for info in tar.getmembers():
                    if imagefs.normalize(info.name) == path and info.isreg():
                        return tar.extractfile(info).read().decode()
        self.fail("%s is not in the image" % path)

    def ready(self, doc):
        build = self.wait_final(doc["id"], timeout=300)
        logs = self.api("GET", "/builds/%s/logs" % doc["id"], self.acme_key).body.decode(errors="replace")
        self.assertEqual(build["status"], "ready", "%s\n%s" % (build, logs))
        return build, logs

    def test_egress_build_resolves_names_and_runs_apt_get_update(self):
        doc = self.submit(None, {"Dockerfile": ("FROM %s\n"
                                                "RUN getent hosts deb.debian.org && apt-get update && "
                                                "ls /var/lib/apt/lists | grep -c _Packages > /packages-lists\n"
                                                % self.debian_ref).encode()},
                          network_mode="egress")
        build, logs = self.ready(doc)
        self.assertIn("deb.debian.org", logs)
        self.assertIn("Reading package lists", logs)
        image = imagefs.pull(self.client, "builds/" + doc["id"], build["manifest_digest"])
        self.assertGreaterEqual(int(self.file_of(image, "packages-lists").strip()), 1)
        self.assertNoBuilderLeftovers(doc["id"])

    def test_steps_see_dockers_etc_files_and_none_reaches_a_layer(self):
        run = ("RUN cat /etc/hosts > /hosts.txt && cat /etc/hostname > /hostname.txt && hostname > /uts.txt"
               " && (cat /etc/resolv.conf 2>/dev/null || echo none) > /resolv.txt\n")
        for mode, resolv in [("isolated", None), ("egress", "nameserver 10.0.2.3\n")]:
            with self.subTest(network_mode=mode):
                doc = self.submit("FROM {base}\n" + run, network_mode=mode)
                build, _ = self.ready(doc)
                image = imagefs.pull(self.client, "builds/" + doc["id"], build["manifest_digest"])
                self.assertEqual(self.file_of(image, "hosts.txt"), HOSTS)
                self.assertEqual(self.file_of(image, "hostname.txt"), "strata\n")
                self.assertEqual(self.file_of(image, "uts.txt"), "strata\n")
                if resolv:
                    self.assertEqual(self.file_of(image, "resolv.txt"), resolv)
                for stub in ("etc/hosts", "etc/hostname", "etc/resolv.conf"):
                    self.assertNotIn(stub, image.filesystem())

    def interfaces(self, image, path):
        """Interface names of a saved /proc/net/dev."""
        lines = self.file_of(image, path).splitlines()[2:]
        return sorted(line.split(":")[0].strip() for line in lines)

    def test_isolated_steps_see_only_loopback_and_host_network_means_the_builds_own(self):
        doc = self.submit("FROM {base}\nRUN cat /proc/net/dev > /isolated.txt\n")
        build, _ = self.ready(doc)
        image = imagefs.pull(self.client, "builds/" + doc["id"], build["manifest_digest"])
        self.assertEqual(self.interfaces(image, "isolated.txt"), ["lo"])

        doc = self.submit("FROM {base}\n"
                          "RUN --network=none cat /proc/net/dev > /none.txt\n"
                          "RUN --network=host cat /proc/net/dev > /host.txt\n"
                          "RUN cat /proc/net/dev > /default.txt\n", network_mode="egress")
        build, _ = self.ready(doc)
        image = imagefs.pull(self.client, "builds/" + doc["id"], build["manifest_digest"])
        self.assertEqual(self.interfaces(image, "none.txt"), ["lo"])
        self.assertEqual(self.interfaces(image, "host.txt"), ["lo", "tap0"])
        self.assertEqual(self.interfaces(image, "default.txt"), ["lo", "tap0"])

    def test_registry_in_registry_allow_can_be_pulled_from(self):
        other = fixtures.make_image("allowed-registry", layers=1)
        self.other_client.push_image("mirror/tiny", "1", other)
        doc = self.submit(None, {"Dockerfile": ("FROM %s/mirror/tiny:1\nCOPY note /note\n"
                                                % self.other_registry.host).encode(),
                                 "note": b"from the allowed registry\n"})
        build, _ = self.ready(doc)
        self.assertEqual([base["digest"] for base in build["provenance"]["base_images"]], [other.digest])

    def test_registry_not_in_registry_allow_is_refused_by_name(self):
        # The allowed registry under a name the operator did not list.
        name = "localhost:%d" % self.other_registry.port
        doc = self.submit(None, {"Dockerfile": ("FROM %s/mirror/tiny:1\n" % name).encode()})
        build = self.wait_final(doc["id"])
        self.assertEqual(build["status"], "failed", build)
        self.assertIn("registry not allowed: " + name, build["error"])


if __name__ == "__main__":
    unittest.main()
