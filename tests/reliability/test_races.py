"""Concurrent CLI calls on one container and many containers at once, for real.

Every call ends in exit 0 or one clean line; the container ends in a legal
state; `delete --force` leaves nothing.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest

from tests.reliability import harness
from tests.reliability.harness import LEAKS


def _together(calls):
    """Run the calls at the same moment (a barrier), in threads; their results."""
    barrier = threading.Barrier(len(calls))

    def go(call):
        barrier.wait()
        return call()

    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
def test_20_concurrent_creates_of_one_id(make_host, backend):
    host = make_host(backend)
    results = _together([lambda: host.create(host.cid) for _ in range(20)])
    winners = [r for r in results if r.code == 0]
    assert len(winners) == 1, results
    for r in results:
        if r.code:
            assert harness.one_clean_line(r) and "already exists" in r.err, r
    assert host.ok("state", host.cid).json()["status"] == "created"
    host.ok("start", host.cid)
    assert host.ok("state", host.cid).json()["status"] == "running"
    host.ok("delete", "--force", host.cid)
    leaks = host.leaks()
    LEAKS.append((f"20 creates of one id ({backend})", leaks))
    assert leaks == []


ID = "{id}"
OPS = {
    "start": ("start", ID),
    "kill": ("kill", ID, "KILL"),
    "kill --all": ("kill", "--all", ID, "KILL"),
    "delete": ("delete", ID),
    "delete --force": ("delete", "--force", ID),
    "state": ("state", ID),
    "exec": ("exec", "--detach", ID, "sleep", "1000"),
}


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
@pytest.mark.parametrize("round_", range(3))
def test_start_kill_delete_race(make_host, backend, round_):
    host = make_host(backend)
    assert host.create(host.cid).code == 0
    names = list(OPS)
    # a different order each round; the barrier releases them together anyway
    names = names[round_:] + names[:round_]
    calls = [lambda a=OPS[name]: host.cli(*(host.cid if w == ID else w for w in a))
             for name in names]
    results = dict(zip(names, _together(calls), strict=True))
    for name, res in results.items():
        assert res.code == 0 or harness.one_clean_line(res), (name, res)
    if results["delete --force"].code != 0:
        pytest.fail(f"delete --force lost a race: {results['delete --force']}")
    # whatever happened, the end is one legal place
    res = host.cli("state", host.cid)
    if res.code == 0:
        assert res.json()["status"] in harness.LEGAL
    else:
        assert harness.one_clean_line(res) and "does not exist" in res.err, res
    assert host.cli("delete", "--force", host.cid).code == 0
    leaks = host.leaks()
    LEAKS.append((f"start/kill/delete race {round_} ({backend})", leaks))
    assert leaks == []


def _lifecycle(host: harness.Host, cid: str, bundle) -> str | None:
    """create, start, state, kill, wait for stopped, delete: None or what went wrong."""
    steps = [("create", "--bundle", str(bundle), cid), ("start", cid), ("state", cid),
             ("kill", cid, "KILL")]
    for step in steps:
        res = host.cli(*step)
        if res.code != 0:
            return f"{step[0]}: {res}"
    deadline = time.monotonic() + 20
    while True:
        res = host.cli("state", cid)
        if res.code == 0 and res.json()["status"] == "stopped":
            break
        if time.monotonic() > deadline:
            return f"never stopped: {res}"
        harness.reap_orphans()
        time.sleep(0.05)
    res = host.cli("delete", cid)
    return None if res.code == 0 else f"delete: {res}"


@pytest.mark.parametrize("backend,count", [("linux", 50), ("freebsd", 16)])
def test_parallel_lifecycles(make_host, backend, count):
    """Many containers at once, 8 runtime calls in flight (the machine has 2 cores)."""
    host = make_host(backend)
    ids = [f"{host.cid}-{i}" for i in range(count)]
    bundles = {cid: host.extra_bundle(cid) for cid in ids}
    host.ids_used.update(ids)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        problems = [p for p in pool.map(lambda cid: _lifecycle(host, cid, bundles[cid]), ids)
                    if p]
    assert problems == []
    leaks = host.leaks()
    LEAKS.append((f"{count} parallel lifecycles ({backend})", leaks))
    assert leaks == []
