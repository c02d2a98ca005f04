"""What the cgroup tells about a container: `events` (runc's stats and oom events)
and the error of a create whose init the memory limit killed."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from pyocijail.testing.clients.driver import reap
from tests.integration.linux.cgroupfs import host_dir, make, read

pytestmark = [pytest.mark.root, pytest.mark.busybox, pytest.mark.cgroup_v1]

MIB = 1024 * 1024
#: Below what the init charges before READY: a create with room to spare peaks at 1 to
#: 3.3 MiB here (max_usage_in_bytes), so with a 1 MiB limit the init often got through.
#: (Rarely, under load, it still does: reclaim can keep it under even this limit.)
INIT_LIMIT = 256 * 1024


@pytest.fixture
def linux_section():
    from pyocijail.lifecycle.defaults import linux_config

    return linux_config(["true"])["linux"]


def test_an_init_the_memory_limit_kills_gets_an_error_that_says_so(runtime, bundle, cid,
                                                                   linux_section, workdir):
    """A 256 KiB limit kills the init while it starts: the error names the limit, the
    usage and the OOM kill, not "exited before it was ready"; nothing is left.

    What the init allocates once it is in the cgroup varies from run to run (what
    it did before, while the runtime was still moving it, is charged to the
    runtime): 1 MiB let 1 create in 20 survive, and more once the init imported
    one more module of its own before the gate; the least seen was ~540 KiB. So
    the init is made to exceed the limit for certain: a tmpcopyup mount over a
    directory holding 8 MiB, which the init copies into the new tmpfs before
    READY (charged to the container's cgroup; shmem, so with swappiness 0 no
    reclaim can make room: only the OOM killer)."""
    b = make(bundle, ["true"], linux_section,
             {"memory": {"limit": INIT_LIMIT, "swappiness": 0}})
    with open(os.path.join(b, "config.json")) as f:
        doc = json.load(f)
    doc["mounts"].append({"destination": "/big", "type": "tmpfs", "source": "tmpfs",
                          "options": ["tmpcopyup"]})
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(doc, f)
    os.mkdir(os.path.join(b, "rootfs", "big"))
    with open(os.path.join(b, "rootfs", "big", "blob"), "wb") as f:
        f.write(os.urandom(8 * MIB))
    log = os.path.join(workdir, "log.json")
    res = runtime("create", "--bundle", b, cid, globals_=("--log", log, "--log-format", "json"))
    assert res.code == 1 and res.err.count("\n") == 1, res
    assert "killed by the memory limit" in res.err, res.err
    assert f"memory limit {INIT_LIMIT} (current usage: " in res.err and "peak usage: " in res.err
    assert "oom_kill 1" in res.err
    with open(log) as f:
        assert "killed by the memory limit" in json.loads(f.read())["msg"]
    assert runtime.ids() == []


def test_events_stats_prints_one_runc_stats_event(runtime, bundle, cid, linux_section):
    """`events --stats`: one line, runc's shape, values read from the cgroup."""
    b = make(bundle, ["sh", "-c", "sleep 30 & sleep 30 & wait"], linux_section,
             {"memory": {"limit": 64 * MIB}, "pids": {"limit": 50}})
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("start", cid)
    deadline = time.monotonic() + 5
    while len(runtime.ok("ps", "--format", "json", cid).json()) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    res = runtime.ok("events", "--stats", cid)
    lines = res.out.splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["type"] == "stats" and event["id"] == cid
    data = event["data"]
    assert {"cpu", "memory", "pids", "blkio"} <= set(data)
    assert data["pids"] == {"current": 3, "limit": 50}
    assert data["memory"]["usage"]["limit"] == 64 * MIB
    assert 0 < data["memory"]["usage"]["usage"] <= 64 * MIB
    assert data["memory"]["raw"]["total_rss"] >= 0
    assert data["cpu"]["usage"]["total"] > 0 and len(data["cpu"]["usage"]["percpu"]) >= 1
    assert int(read(f"{host_dir('cpuacct', cid)}/cpuacct.usage")) >= data["cpu"]["usage"]["total"]


def test_events_streams_stats_and_an_oom_event_until_the_container_stops(
        runtime, bundle, cid, linux_section):
    """`events --interval`: stats every interval, an `oom` event when the limit kills a
    process, and the stream ends (exit 0) once the container stopped."""
    script = "sleep 0.6; dd if=/dev/zero of=/dev/null bs=32M count=1; sleep 0.6"
    b = make(bundle, ["sh", "-c", script], linux_section,
             {"memory": {"limit": 16 * MIB, "swap": 16 * MIB}})
    runtime.ok("create", "--bundle", b, cid)
    pid = runtime.state(cid)["pid"]
    events = subprocess.Popen(runtime.argv("events", "--interval", "200ms", cid),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=runtime.env)
    try:
        runtime.ok("start", cid)
        out, err = events.communicate(timeout=20)
    finally:
        if events.poll() is None:
            events.kill()
            events.wait()
    reap(pid)
    assert events.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    kinds = [e["type"] for e in lines]
    assert kinds.count("oom") == 1, kinds
    assert kinds.count("stats") >= 4, kinds
    assert all(e["id"] == cid for e in lines)
    assert "data" not in lines[kinds.index("oom")]


def test_events_of_a_stopped_container_is_refused(runtime, bundle, cid, linux_section):
    """runc's words: a stopped container has no events."""
    b = make(bundle, ["true"], linux_section)
    runtime.ok("create", "--bundle", b, cid)
    pid = runtime.state(cid)["pid"]
    runtime.ok("start", cid)
    reap(pid)
    res = runtime("events", "--stats", cid)
    assert res.code == 1 and f"container with id {cid} is not running" in res.err, res
    res = runtime("events", "--interval", "0s", cid)
    assert res.code == 1 and "must be greater than 0" in res.err, res

