"""Per-build resource and log limits (issue 9) on a real server with real runc builds.

SandboxLimitsTest runs one server whose builds keep 48 MiB of output per step
and 64 MiB per build (--step-log-limit, --build-log-limit), the process and
memory limits at their defaults. A step printing 500 MB leaves a log clipped
at the step limit with the "[output clipped:" marker; the build goes on and
finishes ready; the server's event log stays within its own limit; and the
server's resident memory (VmRSS, sampled while the build runs and while the
log and the event stream are read) stays within 100 MB of what it was before.
An honest build runs its steps inside the build's cgroup, strata/b<build id>-<work dir tag>,
which carries the limits while a step runs and is gone once the build ends.

The attacks (fork bomb, memory bomb beside another tenant's build) are in
test_tenant_attacks.py. Needs what the builder suite needs (root, runc,
busybox-static).
"""

import glob
import os
import threading
import time
import unittest

from test_builds_api import BuildServiceTestCase, read_sse

MIB = 1 << 20
STEP_LOG_LIMIT = 48 * MIB
BUILD_LOG_LIMIT = 64 * MIB
RSS_BOUND = 100 * MIB
FLOOD_BYTES = 500 * 1000 * 1000


def vm_rss(pid):
    """Resident memory of process `pid` in bytes, from /proc/<pid>/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


class RssSampler:
    """Samples a process's VmRSS every 20 ms in a thread; peak is the largest
    value seen. A context manager: sampling stops when the block ends."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = vm_rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, vm_rss(self.pid))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


def build_cgroups(build_id):
    """The cgroup dirs of a build, strata/b<id>-<work dir tag>, in every hierarchy."""
    return glob.glob("/sys/fs/cgroup/strata/b%s-*" % build_id) + glob.glob("/sys/fs/cgroup/*/strata/b%s-*" % build_id)


class SandboxLimitsTest(BuildServiceTestCase):
    extra_serve_args = ["--step-log-limit", "48m", "--build-log-limit", "64m"]

    def stream_logs(self, build_id):
        """GET /builds/{id}/logs read in pieces; returns (total bytes, the
        lines holding a clip marker, the last 4 KiB)."""
        conn = self.server.anonymous_client().connect(120)
        try:
            conn.request("GET", "/builds/%s/logs" % build_id, headers={"Authorization": "Bearer " + self.acme_key})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            total, markers, tail, carry = 0, [], b"", b""
            while True:
                piece = resp.read(1 << 16)
                if not piece:
                    break
                total += len(piece)
                lines = (carry + piece).split(b"\n")
                carry = lines.pop()
                markers += [l.decode() for l in lines if b"[output clipped:" in l]
                tail = (tail + piece)[-4096:]
            return total, markers, tail.decode(errors="replace")
        finally:
            conn.close()

    def count_events(self, build_id, follow):
        """GET /builds/{id}/events (?follow=true) to its end; returns (events, log
        events holding a clip marker)."""
        conn = self.server.anonymous_client().connect(120)
        try:
            conn.request("GET", "/builds/%s/events%s" % (build_id, "?follow=true" if follow else ""),
                         headers={"Authorization": "Bearer " + self.acme_key})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            events = read_sse(resp)
            return len(events), [e.data for e in events if "[output clipped:" in e.data]
        finally:
            conn.close()

    def test_a_flood_of_output_is_clipped_and_served_in_bounded_memory(self):
        pid = self.server.proc.pid
        baseline = vm_rss(pid)
        dockerfile = ("FROM {base}\n"
                      "RUN yes 'a line of a step that prints far more than the log keeps, over and over' "
                      "| head -c %d\n"
                      "RUN echo after-the-flood\n" % FLOOD_BYTES)
        with RssSampler(pid) as sampler:
            doc = self.submit(dockerfile)
            build = self.wait_final(doc["id"], timeout=600)
            self.assertEqual(build["status"], "ready", build)

            total, markers, tail = self.stream_logs(doc["id"])
            events, event_markers = self.count_events(doc["id"], follow=False)
            followed, _ = self.count_events(doc["id"], follow=True)
        rss_growth = sampler.peak - baseline

        # The builder kept 48 MiB of the step's 500 MB and said so once.
        self.assertEqual(markers, ["#2 [output clipped: step log limit 48 MiB reached]"], markers)
        self.assertGreater(total, 40 * MIB)
        self.assertLess(total, BUILD_LOG_LIMIT)
        self.assertIn("after-the-flood", tail)
        self.assertEqual(event_markers, ["#2 [output clipped: step log limit 48 MiB reached]"])
        self.assertGreater(events, 400000)
        self.assertEqual(followed, events)
        # The server's event log stays within its own limit (twice the build's and 1 MiB).
        events_file = os.path.join(self.server.data_dir, "builds", doc["id"], "events.log")
        self.assertLess(os.path.getsize(events_file), 2 * BUILD_LOG_LIMIT + MIB)
        self.assertLess(rss_growth, RSS_BOUND,
                        "server RSS grew by %.0f MiB (baseline %.0f MiB)" % (rss_growth / MIB, baseline / MIB))

    def test_an_honest_build_runs_in_its_build_cgroup_which_is_gone_after(self):
        dockerfile = ("FROM {base}\n"
                      "RUN echo compiling && touch /tmp/started && sleep 3 && echo done > /result\n"
                      "RUN test \"$(cat /result)\" = done\n")
        doc = self.submit(dockerfile)
        deadline = time.monotonic() + 120
        cgroups = []
        while not cgroups and time.monotonic() < deadline:
            self.assertNotIn(self.get_build(doc["id"])["status"], ("failed", "cancelled"))
            cgroups = [c for c in build_cgroups(doc["id"]) if glob.glob(c + "/*/")]
            time.sleep(0.05)
        self.assertTrue(cgroups, "no cgroup with a running step for build %s" % doc["id"])
        limits = {}
        for path in build_cgroups(doc["id"]):
            for name in ("pids.max", "memory.limit_in_bytes", "memory.max"):
                if os.path.exists(os.path.join(path, name)):
                    with open(os.path.join(path, name)) as f:
                        limits[name] = f.read().strip()
        self.assertEqual(limits.get("pids.max"), "4096")
        self.assertEqual(limits.get("memory.limit_in_bytes", limits.get("memory.max")), str(4 << 30))

        build = self.wait_final(doc["id"])
        self.assertEqual(build["status"], "ready", build)
        self.assertEqual(build_cgroups(doc["id"]), [])
        logs = self.api("GET", "/builds/%s/logs" % doc["id"], self.acme_key).body.decode()
        self.assertIn("compiling", logs)
        self.assertNotIn("[output clipped:", logs)


if __name__ == "__main__":
    unittest.main()
