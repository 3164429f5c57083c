"""The tenant attack suite (issue 9): a hostile tenant's builds, tried the way
such a tenant would (a Dockerfile and a context sent to POST /builds), against
a real `strata serve` with real runc builds.

Two tenants share one server: mallory attacks, alice is the victim whose
honest builds must go on working. Every test asserts that the attack fails
for a reason the tenant can read (the build's error, or what its RUN step
printed) and that nothing of alice's leaks or breaks:

- a packet capture (AF_PACKET on lo, a raw TCP socket) in an egress RUN
  step fails with EPERM or sees nothing of the host while alice logs in,
  submits a build and her builder talks to the registry;
- an egress RUN step cannot connect to the strata server, to a listener the
  test opens on the host's loopback, nor to listeners on the host's own
  non-loopback addresses (the listeners record that they accepted nothing);
- inside a RUN step (isolated and egress): container root is not host root
  (uid_map), a seccomp filter is on (Seccomp: 2), `unshare -U` (-Ur, -Urn,
  -Urm, -n, -m) fails, add_key/request_key/keyctl fail with EPERM,
  /proc/self/cgroup shows only the namespace root, and CapEff lacks
  NET_RAW, MKNOD, AUDIT_WRITE and SYS_ADMIN;
- a fork bomb and a memory bomb fail only their own build with the limit's
  message while alice's concurrent build finishes ready and the server
  answers; a step writing past the disk quota fails with the quota message
  and the host's free space never drops by more than the quota;
- a step printing 500 MB leaves a clipped log, and the server's memory stays
  bounded while it serves that log and its event stream;
- FROM / COPY --from / RUN --mount=from= naming a listener on the host's
  loopback are refused with "registry not allowed" (the same words for a
  closed port) and the listener sees no connection; ADD of a URL on the
  host's loopback from an egress build makes no connection either;
- mallory cannot poison alice's cache: with every credential her capture
  got and her own key, she overwrites what she can of cache/alice while one
  of alice's builds runs; alice's rebuild still gets her own layer.

The server runs with small limits so the bombs end fast (PIDS_LIMIT,
MEMORY_LIMIT, DISK_LIMIT) and an explicit --userns-range. The attack
programs are small C files in attack_programs/, compiled here with
`gcc -static` and sent in the build context. Every program caps itself
(processes, memory, bytes, seconds), so a run against a server without the
defences stays bounded too. Network rule: traffic goes only to loopback and
to this host's own addresses.

Needs what the build API suite needs (root, runc, busybox-static) and gcc
with a static libc (Debian's g++ brings both).
"""

import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import unittest
import uuid
from datetime import datetime
from typing import NamedTuple

import imagefs
from test_builds_api import BuildServiceTestCase, iter_sse

PROGRAMS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attack_programs")
PROGRAMS = ["capture", "connect_probe", "keyring", "fork_bomb", "memory_bomb"]

PIDS_LIMIT = 256
MEMORY_LIMIT, MEMORY_LIMIT_TEXT = "256m", "256 MiB"
DISK_LIMIT, DISK_LIMIT_BYTES, DISK_LIMIT_TEXT = "256m", 256 << 20, "256 MiB"
USERNS_START, USERNS_SIZE = 1500000000, 2 * 65536  # one range per build slot
# The agreed default per-build log limit; a clipped log must stay within it.
BUILD_LOG_LIMIT_BYTES = 32 << 20

# Each bomb caps itself well above the server's limit, so without the limit
# it says so instead of taking the host.
FORK_BOMB_CAP = 1024
FORK_BOMB_HOLD_SECONDS = 15
MEMORY_BOMB_CAP_MIB = 1024
# Far past the quota, so that without one the drop of free space stands out
# from the slack: other work on this machine writes to the same disk (a
# linker's output alone can be 150 MiB) while the bomb runs.
DISK_BOMB_MIB = 2048
DISK_SLACK_BYTES = 256 << 20
FLOOD_BYTES = 500 * 1000 * 1000
# How much the server's resident memory may grow while it serves a log.
RSS_GROWTH_LIMIT = 64 << 20

# Linux capability numbers (linux/capability.h).
CAPABILITIES = {"NET_RAW": 13, "SYS_ADMIN": 21, "MKNOD": 27, "AUDIT_WRITE": 29}

# What alice builds: one RUN step whose output the cache keeps.
VICTIM_OUTPUT = b"alice's own output\n"
VICTIM_DOCKERFILE = "FROM {base}\nRUN printf \"alice's own output\\n\" > /victim.txt\n"
# Another build of hers, asleep long enough for its registry token (which
# may push to cache/alice) to be tried; it shares no step with the first, so
# its cache export leaves the first one's entry alone.
VICTIM_OTHER_DOCKERFILE = "FROM {base}\nENV RUN_ID={nonce}\nRUN sleep 10\n"
POISON = b"written by mallory\n"
# An honest build that runs a few processes and writes a little.
HONEST_DOCKERFILE = ("FROM {base}\nENV RUN_ID={nonce}\n"
                     "RUN for i in 1 2 3 4 5 6 7 8; do echo \"$i\" | cat >> /honest.txt; done && sort -n /honest.txt\n")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
STEP_OUTPUT = re.compile(r"^#\d+ (.*)$", re.M)
# The marker a clipped log carries, as a step's line or a line of its own.
CLIP_MARKER = re.compile(rb"^(#\d+ )?\[output clipped:")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

SANDBOX_FACTS_SCRIPT = b"""#!/bin/sh
# What a RUN step sees of its sandbox, one "fact <name>: <value>" line each.
while read -r line; do echo "fact uid_map: $line"; done < /proc/self/uid_map
while read -r line; do echo "fact gid_map: $line"; done < /proc/self/gid_map
grep -E '^(Seccomp|CapEff|NoNewPrivs):' /proc/self/status | while read -r line; do echo "fact status: $line"; done
while read -r line; do echo "fact cgroup: $line"; done < /proc/self/cgroup
for flags in -U -Ur -Urn -Urm -n -m; do
  unshare $flags true > /tmp/unshare.out 2>&1
  code=$?
  echo "fact unshare $flags: exit $code $(tr '\\n' ' ' < /tmp/unshare.out)"
done
/attack/keyring "strata-attack-$RUN_ID" | while read -r line; do echo "fact $line"; done
"""


def compile_programs(directory):
    """Compiles attack_programs/<name>.c statically; returns {name: bytes}."""
    programs = {}
    for name in PROGRAMS:
        output = os.path.join(directory, name)
        proc = subprocess.run(["gcc", "-static", "-O2", "-Wall", "-o", output,
                               os.path.join(PROGRAMS_DIR, name + ".c")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        if proc.returncode != 0:
            raise AssertionError("gcc -static %s.c failed (a static libc is needed):\n%s" % (name, proc.stdout))
        with open(output, "rb") as f:
            programs[name] = f.read()
    return programs


def host_addresses():
    """This host's own addresses besides loopback and link-local (scope
    global), from `ip -j addr`: traffic to them stays on this machine."""
    out = subprocess.run(["ip", "-j", "addr", "show"], stdout=subprocess.PIPE, check=True, text=True).stdout
    found = []
    for interface in json.loads(out):
        for address in interface.get("addr_info", []):
            if address.get("scope") == "global" and not address.get("tentative") and not address.get("dadfailed"):
                found.append(address["local"])
    return found


def step_lines(log, prefix):
    """The RUN output lines of a build log that start with `prefix`,
    without the log's "#<step> " in front."""
    return [line for line in STEP_OUTPUT.findall(log) if line.startswith(prefix)]


def timestamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def jwt_claims(token):
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None


def redacted(secret):
    return secret[:12] + "..." if len(secret) > 12 else secret


def gzip_layer(files):
    """A gzip'd layer tar of {path: bytes}; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            tar.addfile(info, io.BytesIO(data))
    plain = raw.getvalue()
    return gzip.compress(plain, mtime=0), "sha256:" + hashlib.sha256(plain).hexdigest()


class Listener:
    """A TCP listener on one address of this host that accepts connections,
    closes each at once and records who connected: the witness that an
    attack reached nothing."""

    def __init__(self, address):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.address = address
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.bind((address, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self.accepted = []  # peer addresses, in order
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, peer = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted.append(peer[0])
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self._sock.close()


class Sampler:
    """Calls probe() every `interval` seconds on a thread until stopped and
    keeps every value: free disk space, a process's memory."""

    def __init__(self, probe, interval=0.05):
        self._probe = probe
        self._interval = interval
        self.values = [probe()]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self._interval):
            self.values.append(self._probe())

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.values.append(self._probe())
        return self.values


def free_bytes(path):
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def resident_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class CaptureRun(NamedTuple):
    """mallory's packet capture while alice worked, and what mallory then
    overwrote in alice's cache with what she had."""
    capture: dict           # mallory's build (GET /builds/{id})
    capture_log: str
    alice_first: dict       # alice's build before the capture: filled cache/alice
    alice_during: dict      # alice's build while mallory captured
    alice_manifests: dict   # {tag: manifest digest} of cache/alice before the attack
    overwritten: list       # what mallory's writes to cache/alice got accepted


class TenantAttackTest(BuildServiceTestCase):
    """One server with small per-build limits, the busybox base image and
    two tenants: mallory (attacker) and alice (victim). The builds several
    tests read (the sandbox facts, the egress probe, the capture) run once
    per class, in the first test that needs them."""

    _facts = None    # {network mode: log of the sandbox-facts build}
    _probe = None    # (build, log, targets, listeners) of the egress connect probe
    _capture = None  # CaptureRun

    @classmethod
    def setUpClass(cls):
        cls.serve_args = ["--max-concurrent-builds", "2",
                          "--build-pids", str(PIDS_LIMIT), "--build-memory", MEMORY_LIMIT,
                          "--build-disk", DISK_LIMIT,
                          "--userns-range", "%d:%d" % (USERNS_START, USERNS_SIZE)]
        # BuildServiceTestCase.setUpClass fixes its own serve_args: start the
        # server and base image from the builder fixture directly.
        super(BuildServiceTestCase, cls).setUpClass()
        cls.builder_work = os.path.join(cls.server.data_dir, "builder")
        cls.mallory_key = cls.create_key("mallory")
        cls.alice_key = cls.create_key("alice")
        cls.acme_key = cls.alice_key  # the default key of BuildServiceTestCase's helpers
        programs_dir = tempfile.mkdtemp(prefix="strata-e2e-attacks-")
        cls.addClassCleanup(shutil.rmtree, programs_dir, True)
        cls.programs = compile_programs(programs_dir)

    # --- builds ---

    def program(self, name):
        return (self.programs[name], 0o755)

    def attack(self, dockerfile, files=None, key=None, **fields):
        """Submits a build (mallory's unless `key`); {nonce} in the text is a
        fresh id, so no cache entry of an earlier run stands in for it."""
        text = dockerfile.replace("{nonce}", uuid.uuid4().hex)
        return self.submit(text, files or {}, key=key or self.mallory_key, **fields)

    def finish(self, doc, key, timeout=300):
        """Waits for a submitted build to end; returns (build, log text)."""
        build = self.wait_final(doc["id"], key, timeout=timeout)
        return build, self.log_of(doc["id"], key)

    def log_of(self, build_id, key):
        resp = self.api("GET", "/builds/%s/logs" % build_id, key)
        self.assertEqual(resp.status, 200, resp)
        return resp.body.decode(errors="replace")

    def assertServerAnswers(self, during):
        resp = self.server.anonymous_client().request("GET", "/healthz", timeout=30)
        self.assertEqual(resp.status, 200, "the server did not answer /healthz %s: %r" % (during, resp))
        self.assertEqual(subprocess.run(["true"], timeout=30).returncode, 0,
                         "the host could not start a process %s" % during)

    def assertOnlyItsOwnBuildFailed(self, bomb, bomb_log, honest, honest_log, *reasons):
        """alice's build is ready, the bomb's failed with every one of
        `reasons` in its error, and the two ran at the same time."""
        self.assertEqual(honest["status"], "ready",
                         "alice's build next to mallory's bomb must finish ready: %s\n%s" % (honest, honest_log))
        self.assertEqual(bomb["status"], "failed", "the bomb's own build must fail: %s\n%s" % (bomb, bomb_log))
        bomb_output = "\n".join(STEP_OUTPUT.findall(bomb_log)[-6:])
        for reason in reasons:
            self.assertIn(reason, bomb["error"] or "", "the bomb's build must fail saying %r; its error: %r\n%s"
                          % (reason, bomb["error"], bomb_output))
        self.assertLess(timestamp(honest["started_at"]), timestamp(bomb["finished_at"]),
                        "alice's build must have run while the bomb's build did")

    # --- raw and packet sockets ---

    def capture_run(self):
        """alice builds VICTIM_DOCKERFILE (an entry in cache/alice). Then
        mallory's egress build captures packets on lo while alice logs in
        (GET /v2/token with her key), submits another build (POST /builds),
        whose builder looks its steps up in cache/alice with a registry
        token that may push there, and polls it. Whenever mallory's log
        shows a new credential, mallory tries it (and her own key) on
        cache/alice while alice's build, and so its token, is alive. Once
        per class."""
        cls = type(self)
        if cls._capture is not None:
            return cls._capture
        first, first_log = self.finish(self.attack(VICTIM_DOCKERFILE, key=self.alice_key), self.alice_key)
        self.assertEqual(first["status"], "ready", "%s\n%s" % (first, first_log))
        manifests = self.cache_manifests("cache/alice")
        self.assertTrue(manifests, "alice's build left no entry in cache/alice")

        marker = "strata-capture-" + uuid.uuid4().hex
        capture = self.attack("FROM {base}\nCOPY capture /attack/capture\nENV RUN_ID={nonce}\n"
                              "RUN [\"/attack/capture\", \"%d\", \"90\", \"%s\"]\n" % (self.server.port, marker),
                              {"capture": self.program("capture")}, network_mode="egress")
        deadline = time.monotonic() + 180
        while True:
            log = self.log_of(capture["id"], self.mallory_key)
            if step_lines(log, "capture listening") or step_lines(log, "capture summary"):
                break
            self.assertNotIn(self.get_build(capture["id"], self.mallory_key)["status"], ("failed", "cancelled"), log)
            self.assertLess(time.monotonic(), deadline, "mallory's capture did not start:\n" + log)
            time.sleep(0.2)

        # alice logs in the way `docker login` does, then builds.
        basic = base64.b64encode(b"alice:" + self.alice_key.encode()).decode()
        login = self.server.anonymous_client().request(
            "GET", "/v2/token?service=strata&scope=repository:cache/alice:pull", {"Authorization": "Basic " + basic})
        self.assertEqual(login.status, 200, login)
        during = self.attack(VICTIM_OTHER_DOCKERFILE, key=self.alice_key)
        tried, overwritten = set(), []
        deadline = time.monotonic() + 180
        while self.get_build(during["id"], self.alice_key)["status"] not in ("ready", "failed", "cancelled"):
            self.assertLess(time.monotonic(), deadline, "alice's build did not end")
            overwritten += self.poison_with(self.log_of(capture["id"], self.mallory_key), tried)
            time.sleep(0.3)
        overwritten += self.poison_with(self.log_of(capture["id"], self.mallory_key), tried)
        during_build = self.get_build(during["id"], self.alice_key)

        self.server.anonymous_client().request("GET", "/healthz?%s-end" % marker)
        captured, log = self.finish(capture, self.mallory_key, timeout=150)
        cls._capture = CaptureRun(captured, log, first, during_build, manifests, overwritten)
        return cls._capture

    def test_packet_capture_in_egress_step_sees_nothing_of_other_tenants(self):
        run = self.capture_run()
        lines = step_lines(run.capture_log, "capture ")
        summary = [line for line in lines if line.startswith("capture summary:")]
        self.assertTrue(summary, "the capture program did not finish: %s\n%s" % (run.capture, run.capture_log))
        for kind in ("packet socket", "raw socket"):
            opened = [line for line in lines if line.startswith("capture %s:" % kind)]
            self.assertEqual(len(opened), 1, run.capture_log)
            result = opened[0].split(": ", 1)[1]
            self.assertTrue(result.startswith("open") or result == "EPERM",
                            "a %s must fail with EPERM or see nothing; got %r" % (kind, result))

        leaked = []
        for line in lines:
            if self.alice_key in line:
                leaked.append("alice's API key in %r" % line.replace(self.alice_key, redacted(self.alice_key)))
        for token in set(JWT.findall(run.capture_log)):
            claims = jwt_claims(token)
            if claims and "alice" in json.dumps(claims):
                leaked.append("a registry token of alice's (sub %s, access %s)"
                              % (claims.get("sub"), json.dumps(claims.get("access"))))
        for line in lines:
            if line.startswith("capture request:") and (run.alice_during["id"] in line or "cache/alice" in line):
                leaked.append("alice's request %r" % line[len("capture request: "):])
        if leaked:
            self.fail("mallory's packet capture in an egress RUN step saw alice's traffic (%d items):\n%s"
                      % (len(leaked), "\n".join(leaked[:12])))
        seen = re.search(r"(\d+) of port %d" % self.server.port, summary[0])
        self.assertTrue(summary[0].startswith("capture summary: no socket") or (seen and seen.group(1) == "0"),
                        "the capture must see no packet of the strata server's port on the host's "
                        "loopback; it reported %r" % summary[0])

    # --- connections to the host ---

    def egress_probe(self):
        """One egress build of mallory's that connects to the strata server,
        to listeners on the host's loopback (IPv4 and IPv6) and to listeners
        on each of the host's own addresses (and the server's port there).
        Once per class; returns (build, log, {(address, port): what the step
        printed}, [Listener])."""
        cls = type(self)
        if cls._probe is not None:
            return cls._probe
        listeners = [Listener("127.0.0.1"), Listener("::1")] + [Listener(a) for a in host_addresses()]
        targets = [("127.0.0.1", self.server.port)] + [(l.address, l.port) for l in listeners]
        targets += [(a, self.server.port) for a in host_addresses()]
        try:
            args = [str(part) for target in targets for part in target]
            doc = self.attack("FROM {base}\nCOPY connect_probe /attack/connect_probe\nENV RUN_ID={nonce}\n"
                              "RUN %s\n" % json.dumps(["/attack/connect_probe"] + args),
                              {"connect_probe": self.program("connect_probe")}, network_mode="egress")
            build, log = self.finish(doc, self.mallory_key)
        finally:
            for listener in listeners:
                listener.close()
        results = {}
        for line in step_lines(log, "probe "):
            match = re.match(r"probe (\S+) (\d+): (.*)$", line)
            if match:
                results[(match.group(1), int(match.group(2)))] = match.group(3)
        cls._probe = (build, log, results, listeners)
        return cls._probe

    def assertProbesReachedNothing(self, targets, what):
        build, log, results, listeners = self.egress_probe()
        self.assertEqual(build["status"], "ready", "the probe step prints its verdict and exits 0: %s\n%s" % (build, log))
        for target in targets:
            self.assertIn(target, results, "the probe did not report %s:%s\n%s" % (target + (log,)))
            self.assertNotEqual(results[target], "connected",
                                "an egress RUN step connected to %s at %s:%s; it must be refused, dropped or "
                                "unreachable" % ((what,) + target))
        witnesses = [l for l in listeners if (l.address, l.port) in targets]
        for listener in witnesses:
            self.assertEqual(listener.accepted, [], "the listener on %s:%s accepted connections from %s"
                             % (listener.address, listener.port, listener.accepted))

    def test_egress_step_cannot_reach_strata_server(self):
        self.assertProbesReachedNothing([("127.0.0.1", self.server.port)], "the strata server")

    def test_egress_step_cannot_reach_host_loopback_listener(self):
        _, _, _, listeners = self.egress_probe()
        loopback = [(l.address, l.port) for l in listeners if l.address in ("127.0.0.1", "::1")]
        self.assertProbesReachedNothing(loopback, "a listener on the host's loopback")

    def test_egress_step_cannot_reach_hosts_own_addresses(self):
        _, _, results, listeners = self.egress_probe()
        own = [(l.address, l.port) for l in listeners if l.address not in ("127.0.0.1", "::1")]
        own += [(a, self.server.port) for a in host_addresses()]
        self.assertProbesReachedNothing(own, "one of the host's own addresses")

    def test_egress_step_reports_its_failed_connections(self):
        build, log, results, _ = self.egress_probe()
        verdict = step_lines(log, "probe verdict:")
        self.assertEqual(verdict, ["probe verdict: reached 0 of %d" % len(results)],
                         "the step's log must show that no host service answered:\n%s" % log)

    # --- the RUN step's sandbox ---

    def sandbox_facts(self):
        """What a RUN step sees of its sandbox, in an isolated build of
        alice's and an egress build of mallory's run side by side; once per
        class. Returns {network mode: [fact lines]}."""
        cls = type(self)
        if cls._facts is None:
            dockerfile = ("FROM {base}\nCOPY keyring facts.sh /attack/\nENV RUN_ID={nonce}\n"
                          "RUN /attack/facts.sh\n")
            files = {"keyring": self.program("keyring"), "facts.sh": (SANDBOX_FACTS_SCRIPT, 0o755)}
            docs = {"isolated": (self.attack(dockerfile, files, key=self.alice_key), self.alice_key),
                    "egress": (self.attack(dockerfile, files, network_mode="egress"), self.mallory_key)}
            facts = {}
            for mode, (doc, key) in docs.items():
                build, log = self.finish(doc, key)
                self.assertEqual(build["status"], "ready", "the %s sandbox-facts build: %s\n%s" % (mode, build, log))
                facts[mode] = [line[len("fact "):] for line in step_lines(log, "fact ")]
            cls._facts = facts
        return cls._facts

    def facts(self, mode, name):
        """The values of fact `name` in `mode`'s build."""
        values = [line.split(": ", 1)[1] if ": " in line else "" for line in self.sandbox_facts()[mode]
                  if line.split(": ", 1)[0] == name]
        self.assertTrue(values, "no %r in the %s build's facts: %s" % (name, mode, self.sandbox_facts()[mode]))
        return values

    def test_container_root_is_not_host_root(self):
        for mode in ("isolated", "egress"):
            for name in ("uid_map", "gid_map"):
                with self.subTest(mode=mode, map=name):
                    lines = self.facts(mode, name)
                    ranges = [tuple(int(n) for n in line.split()) for line in lines]
                    self.assertNotIn((0, 0, 4294967295), ranges, "%s: container ids are host ids" % name)
                    root = [r for r in ranges if r[0] == 0]
                    self.assertTrue(root, "%s maps no container id 0: %s" % (name, lines))
                    self.assertNotEqual(root[0][1], 0, "%s: container root is host root: %s" % (name, lines))
                    for inside, outside, count in ranges:
                        self.assertTrue(USERNS_START <= outside and outside + count <= USERNS_START + USERNS_SIZE,
                                        "%s maps onto host ids outside --userns-range %d:%d: %s"
                                        % (name, USERNS_START, USERNS_SIZE, lines))

    def test_builds_running_at_once_share_no_host_ids(self):
        # Two tenants' builds submitted together run at once on the two
        # workers (each holds its worker a few seconds); each must get a
        # 65536-id range of the pool of its own.
        dockerfile = ("FROM {base}\nENV RUN_ID={nonce}\n"
                      "RUN cat /proc/self/uid_map | sed 's/^/uid_map: /' && sleep 3\n")
        docs = [(self.attack(dockerfile, key=self.alice_key), self.alice_key), (self.attack(dockerfile), self.mallory_key)]
        ranges = []
        for doc, key in docs:
            build, log = self.finish(doc, key)
            self.assertEqual(build["status"], "ready", log)
            maps = [tuple(int(n) for n in line.split(": ", 1)[1].split()) for line in step_lines(log, "uid_map: ")]
            self.assertEqual(len(maps), 1, log)
            ranges.append(maps[0])
        (_, first, first_count), (_, second, second_count) = ranges
        self.assertEqual((first_count, second_count), (65536, 65536), ranges)
        self.assertTrue(first + first_count <= second or second + second_count <= first,
                        "builds running at once share host ids: %s" % ranges)

    def test_run_step_has_a_seccomp_filter(self):
        for mode in ("isolated", "egress"):
            with self.subTest(mode=mode):
                seccomp = [v for v in self.facts(mode, "status") if v.startswith("Seccomp:")]
                self.assertEqual([v.split(":", 1)[1].strip() for v in seccomp], ["2"],
                                 "/proc/self/status must say Seccomp: 2 (filter mode): %s" % seccomp)

    def test_unshare_of_namespaces_fails(self):
        for mode in ("isolated", "egress"):
            for flags in ("-U", "-Ur", "-Urn", "-Urm", "-n", "-m"):
                with self.subTest(mode=mode, unshare=flags):
                    result = self.facts(mode, "unshare " + flags)[0]
                    self.assertFalse(result.startswith("exit 0"),
                                     "`unshare %s true` must fail in a RUN step; it said %r" % (flags, result))

    def test_keyring_syscalls_fail_with_eperm(self):
        for mode in ("isolated", "egress"):
            for call in ("add_key", "request_key", "keyctl_get_keyring_id", "keyctl_join_session_keyring"):
                with self.subTest(mode=mode, call=call):
                    self.assertEqual(self.facts(mode, "keyring " + call), ["EPERM"],
                                     "%s must fail with EPERM in a RUN step" % call)

    def test_proc_self_cgroup_shows_only_the_namespace_root(self):
        for mode in ("isolated", "egress"):
            with self.subTest(mode=mode):
                lines = self.facts(mode, "cgroup")
                paths = [line.split(":", 2)[2] for line in lines]
                self.assertEqual(set(paths), {"/"}, "/proc/self/cgroup must show the cgroup namespace's root "
                                 "(\"0::/\", \"<n>:<controller>:/\"), not host paths: %s" % lines)

    def test_dangerous_capabilities_are_not_effective(self):
        for mode in ("isolated", "egress"):
            with self.subTest(mode=mode):
                cap_eff = [v for v in self.facts(mode, "status") if v.startswith("CapEff:")]
                self.assertEqual(len(cap_eff), 1, self.sandbox_facts()[mode])
                mask = int(cap_eff[0].split(":", 1)[1].strip(), 16)
                held = [name for name, bit in CAPABILITIES.items() if mask & (1 << bit)]
                self.assertEqual(held, [], "container root must not hold these capabilities (%s)" % cap_eff[0])

    # --- resource bombs ---

    def test_fork_bomb_fails_only_its_own_build(self):
        bomb = self.attack("FROM {base}\nCOPY fork_bomb /attack/fork_bomb\nENV RUN_ID={nonce}\n"
                           "RUN [\"/attack/fork_bomb\", \"%d\", \"%d\"]\n" % (FORK_BOMB_CAP, FORK_BOMB_HOLD_SECONDS),
                           {"fork_bomb": self.program("fork_bomb")}, timeout_seconds="300")
        # The honest build starts once the bomb holds every process it could get.
        deadline = time.monotonic() + 180
        while not step_lines(self.log_of(bomb["id"], self.mallory_key), "fork_bomb:"):
            self.assertNotIn(self.get_build(bomb["id"], self.mallory_key)["status"], ("ready", "cancelled"))
            self.assertLess(time.monotonic(), deadline, "the fork bomb did not start")
            time.sleep(0.2)
        honest = self.attack(HONEST_DOCKERFILE, key=self.alice_key)
        self.assertServerAnswers("during a fork bomb")
        honest_build, honest_log = self.finish(honest, self.alice_key)
        bomb_build, bomb_log = self.finish(bomb, self.mallory_key)
        self.assertOnlyItsOwnBuildFailed(bomb_build, bomb_log, honest_build, honest_log,
                                         "process limit (%d)" % PIDS_LIMIT)
        self.assertServerAnswers("after a fork bomb")

    def test_memory_bomb_fails_only_its_own_build(self):
        bomb = self.attack("FROM {base}\nCOPY memory_bomb /attack/memory_bomb\nENV RUN_ID={nonce}\n"
                           "RUN [\"/attack/memory_bomb\", \"%d\"]\n" % MEMORY_BOMB_CAP_MIB,
                           {"memory_bomb": self.program("memory_bomb")}, timeout_seconds="300")
        honest = self.attack(HONEST_DOCKERFILE, key=self.alice_key)
        self.assertServerAnswers("during a memory bomb")
        honest_build, honest_log = self.finish(honest, self.alice_key)
        bomb_build, bomb_log = self.finish(bomb, self.mallory_key)
        self.assertOnlyItsOwnBuildFailed(bomb_build, bomb_log, honest_build, honest_log,
                                         "out of memory", "memory limit (%s)" % MEMORY_LIMIT_TEXT)
        self.assertServerAnswers("after a memory bomb")

    def disk_bomb(self, run_line, quota_message):
        """Runs `run_line` (which writes DISK_BOMB_MIB into `path`) as mallory's
        build; it must fail with `quota_message` while the host's free space
        never drops by more than the quota."""
        data_dir = self.server.data_dir
        before = free_bytes(data_dir)
        free = Sampler(lambda: free_bytes(data_dir))
        try:
            bomb = self.attack("FROM {base}\nENV RUN_ID={nonce}\n" + run_line +
                               " && echo \"disk_bomb: wrote %d MiB and no quota stopped it\" && exit 1\n"
                               % DISK_BOMB_MIB, timeout_seconds="300")
            bomb_build, bomb_log = self.finish(bomb, self.mallory_key)
        finally:
            samples = free.stop()
        self.assertEqual(bomb_build["status"], "failed", bomb_log)
        self.assertIn(quota_message, bomb_build["error"] or "",
                      "a step writing past the disk quota must fail with the quota message:\n%s"
                      % "\n".join(STEP_OUTPUT.findall(bomb_log)[-8:]))
        dropped = before - min(samples)
        self.assertLessEqual(dropped, DISK_LIMIT_BYTES + DISK_SLACK_BYTES,
                             "the host's free space dropped by %d MiB while the quota is %s"
                             % (dropped >> 20, DISK_LIMIT_TEXT))

    def test_disk_bomb_hits_the_build_quota_and_the_host_keeps_its_space(self):
        self.disk_bomb("RUN dd if=/dev/zero of=/fill bs=1M count=%d" % DISK_BOMB_MIB,
                       "build disk quota exceeded (%s)" % DISK_LIMIT_TEXT)

    def test_disk_bomb_in_a_cache_mount_hits_the_cache_mount_quota(self):
        # A cache mount outlives the build: without a quota of its own it
        # would be a way around the build's.
        self.disk_bomb("RUN --mount=type=cache,target=/cache dd if=/dev/zero of=/cache/fill bs=1M count=%d"
                       % DISK_BOMB_MIB, "cache mount quota exceeded (%s)" % DISK_LIMIT_TEXT)

    # --- log flood ---

    def test_log_flood_is_clipped_and_served_in_bounded_memory(self):
        flood = self.attack("FROM {base}\nENV RUN_ID={nonce}\n"
                            "RUN line=$(head -c 999 /dev/zero | tr '\\0' x) && yes \"$line\" | head -c %d "
                            "&& echo flood-done\n" % FLOOD_BYTES, timeout_seconds="900")
        build = self.wait_final(flood["id"], self.mallory_key, timeout=900)
        self.assertEqual(build["status"], "ready", "a clipped log does not fail the build: %s" % build)
        pid = self.server.proc.pid
        baseline = resident_bytes(pid)
        memory = Sampler(lambda: resident_bytes(pid), interval=0.02)
        try:
            size, head, clipped = self.read_logs(flood["id"])
        finally:
            log_growth = max(memory.stop()) - baseline
        memory = Sampler(lambda: resident_bytes(pid), interval=0.02)
        try:
            events = self.read_events(flood["id"])
        finally:
            events_growth = max(memory.stop()) - baseline
        served = ("GET /builds/{id}/logs served %d MiB (the server's RSS grew by %d MiB); the event stream grew it "
                  "by %d MiB" % (size >> 20, log_growth >> 20, events_growth >> 20))

        self.assertTrue(clipped, "the log of a step printing %d bytes must carry an \"[output clipped:\" line; "
                        "%s; the log starts %r" % (FLOOD_BYTES, served, head[:300]))
        self.assertLessEqual(size, BUILD_LOG_LIMIT_BYTES + (1 << 20), "a clipped log is too long: " + served)
        self.assertLessEqual(log_growth, RSS_GROWTH_LIMIT, "serving the log must take bounded memory: " + served)
        self.assertTrue(any(e.kind == "log" and "[output clipped:" in e.data for e in events),
                        "the event stream must carry the clip marker too")
        self.assertEqual(json.loads(events[-1].data)["status"], "ready", events[-1])
        self.assertLessEqual(events_growth, RSS_GROWTH_LIMIT, "streaming the events must take bounded memory: "
                             + served)

    def read_logs(self, build_id):
        """Streams GET /builds/{id}/logs; returns (bytes, its first 64 KiB,
        whether a line is a clip marker)."""
        conn = self.server.anonymous_client().connect(300)
        try:
            conn.request("GET", "/builds/%s/logs" % build_id, headers={"Authorization": "Bearer " + self.mallory_key})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            size, head, clipped = 0, b"", False
            while True:
                line = resp.readline()
                if not line:
                    return size, head.decode(errors="replace"), clipped
                size += len(line)
                if len(head) < 65536:
                    head += line
                clipped = clipped or CLIP_MARKER.match(line) is not None
        finally:
            conn.close()

    def read_events(self, build_id):
        conn = self.server.anonymous_client().connect(300)
        try:
            conn.request("GET", "/builds/%s/events" % build_id,
                         headers={"Authorization": "Bearer " + self.mallory_key, "Accept": "text/event-stream"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            # The clip markers and the status events are kept; the flood of
            # plain lines is dropped as it is read.
            return [event for event in iter_sse(resp)
                    if event.kind == "status" or (event.kind == "log" and "[output clipped:" in event.data)]
        finally:
            conn.close()

    # --- the builder's own pulls and downloads ---

    def test_image_pulls_from_host_loopback_are_refused_without_connecting(self):
        listener = Listener("127.0.0.1")
        closed_port = Listener("127.0.0.1")
        closed_port.close()  # nothing listens there any more
        try:
            open_ref = "127.0.0.1:%d/x" % listener.port
            closed_ref = "127.0.0.1:%d/x" % closed_port.port
            cases = {
                "FROM open port": "FROM %s\nRUN true\n" % open_ref,
                "FROM closed port": "FROM %s\nRUN true\n" % closed_ref,
                "FROM localhost": "FROM localhost:%d/x\nRUN true\n" % listener.port,
                "COPY --from": "FROM {base}\nCOPY --from=%s /etc/passwd /stolen\n" % open_ref,
                "RUN --mount from=": "FROM {base}\nRUN --mount=type=bind,from=%s,target=/m true\n" % open_ref,
            }
            docs = {name: self.attack(text) for name, text in cases.items()}
            builds = {name: self.finish(doc, self.mallory_key) for name, doc in docs.items()}
        finally:
            listener.close()
        for name, (build, log) in builds.items():
            with self.subTest(case=name):
                self.assertEqual(build["status"], "failed", log)
                self.assertIn("registry not allowed", build["error"] or "",
                              "a pull from the host's loopback must be refused: %s" % build["error"])
        self.assertEqual(listener.accepted, [],
                         "the builder connected to a listener on the host's loopback %d times"
                         % len(listener.accepted))
        same = [(builds[name][0]["error"] or "").replace(str(port), "<port>")
                for name, port in (("FROM open port", listener.port), ("FROM closed port", closed_port.port))]
        self.assertEqual(same[0], same[1], "the refusal must not tell an open port from a closed one")

    def test_add_url_in_egress_build_cannot_reach_host_loopback(self):
        listener = Listener("127.0.0.1")
        try:
            doc = self.attack("FROM {base}\nADD http://127.0.0.1:%d/payload /payload\n" % listener.port,
                              network_mode="egress")
            build, log = self.finish(doc, self.mallory_key)
        finally:
            listener.close()
        self.assertEqual(build["status"], "failed", "ADD of a URL on the host's loopback must fail:\n%s" % log)
        self.assertEqual(listener.accepted, [],
                         "the builder fetched an ADD URL from the host's loopback (%d connections): %s"
                         % (len(listener.accepted), build["error"]))

    # --- cache poisoning ---

    def cache_manifests(self, repo):
        """{tag: manifest digest} of a cache repository, read by the operator."""
        resp = self.client.request("GET", "/v2/%s/tags/list?n=1000" % repo)
        if resp.status == 404:
            return {}
        self.assertEqual(resp.status, 200, resp)
        digests = {}
        for tag in resp.json().get("tags") or []:
            got = self.client.request("GET", "/v2/%s/manifests/%s" % (repo, tag), {"Accept": imagefs.ACCEPT})
            self.assertEqual(got.status, 200, got)
            digests[tag] = "sha256:" + hashlib.sha256(got.body).hexdigest()
        return digests

    def stolen_credentials(self, capture_log):
        """Every credential in mallory's log: JWTs, API keys from Bearer and
        Basic headers; then her own API key."""
        found = list(JWT.findall(capture_log))
        for line in step_lines(capture_log, "capture header:"):
            match = re.search(r"Authorization:\s*(Bearer|Basic)\s+(\S+)", line, re.I)
            if not match:
                continue
            if match.group(1).lower() == "basic":
                try:
                    found.append(base64.b64decode(match.group(2)).decode().split(":", 1)[1])
                except (ValueError, IndexError):
                    pass
            elif not JWT.fullmatch(match.group(2)):
                found.append(match.group(2))
        return found + [self.mallory_key]

    def registry_token(self, credential, scope):
        """A registry token to try: a JWT as it is; an API key exchanged at
        the token endpoint for `scope` (None if refused)."""
        if JWT.fullmatch(credential):
            return credential
        basic = base64.b64encode(b"mallory:" + credential.encode()).decode()
        resp = self.server.anonymous_client().request(
            "GET", "/v2/token?service=strata&scope=" + scope, {"Authorization": "Basic " + basic})
        return resp.json().get("token") if resp.status == 200 else None

    def poison_with(self, capture_log, tried):
        """mallory overwrites every entry of cache/alice she can with a layer
        of her own, with each credential not tried before; returns
        ["<tag> with <credential kind>"] of the writes the registry took."""
        written = []
        for credential in self.stolen_credentials(capture_log):
            if credential in tried:
                continue
            tried.add(credential)
            token = self.registry_token(credential, "repository:cache/alice:pull,push")
            if token is None:
                continue
            kind = "mallory's own key" if credential == self.mallory_key else "a credential from the capture"
            written += ["%s with %s" % (tag, kind) for tag in self.overwrite_cache_entries("cache/alice", token)]
        return written

    def overwrite_cache_entries(self, repo, token):
        client = self.server.client(token)
        listed = client.request("GET", "/v2/%s/tags/list" % repo)
        if listed.status != 200:
            return []
        written = []
        for tag in listed.json().get("tags") or []:
            got = client.request("GET", "/v2/%s/manifests/%s" % (repo, tag), {"Accept": OCI_MANIFEST})
            if got.status != 200:
                continue
            manifest = got.json()
            config_blob = client.request("GET", "/v2/%s/blobs/%s" % (repo, manifest["config"]["digest"]))
            if config_blob.status != 200 or not manifest.get("layers"):
                continue
            config = json.loads(config_blob.body)
            layer, diff_id = gzip_layer({"victim.txt": POISON})
            descriptor = dict(manifest["layers"][0], digest="sha256:" + hashlib.sha256(layer).hexdigest(),
                              size=len(layer))
            config["layer"] = dict(config.get("layer") or {}, mediaType=descriptor["mediaType"],
                                   digest=descriptor["digest"], size=len(layer), diff_id=diff_id)
            config_bytes = json.dumps(config).encode()
            try:
                client.push_blob(repo, layer)
                client.push_blob(repo, config_bytes)
            except AssertionError:
                continue
            manifest["config"] = dict(manifest["config"], digest="sha256:" + hashlib.sha256(config_bytes).hexdigest(),
                                      size=len(config_bytes))
            manifest["layers"] = [descriptor]
            if client.put_manifest(repo, tag, json.dumps(manifest).encode(), OCI_MANIFEST).status == 201:
                written.append(tag)
        return written

    def test_tenant_cannot_poison_another_tenants_cache(self):
        run = self.capture_run()
        self.assertEqual(run.alice_during["status"], "ready", run.alice_during)
        rebuilt, log = self.finish(self.attack(VICTIM_DOCKERFILE, key=self.alice_key), self.alice_key)
        self.assertEqual(rebuilt["status"], "ready", "%s\n%s" % (rebuilt, log))
        fs = imagefs.pull(self.client, "builds/" + rebuilt["id"], rebuilt["manifest_digest"]).filesystem()
        self.assertEqual(fs["victim.txt"].sha256, hashlib.sha256(VICTIM_OUTPUT).hexdigest(),
                         "alice's rebuild was served a layer mallory wrote into cache/alice (%s)"
                         % ", ".join(run.overwritten))
        self.assertEqual(rebuilt["layers"], run.alice_first["layers"],
                         "alice's rebuild must get the layers of her own first build")
        self.assertEqual(run.overwritten, [], "mallory overwrote entries of cache/alice while alice built")
        after = self.cache_manifests("cache/alice")
        changed = [tag for tag, digest in run.alice_manifests.items() if after.get(tag) != digest]
        self.assertEqual(changed, [], "alice's cache entries changed under her")

if __name__ == "__main__":
    unittest.main()
