"""Kill the runtime (or the container's init, exec process, hook runner) at every failpoint.

For each point of `harness.registry()` and each backend that reaches it
(Linux for real, FreeBSD on the simulated kernel): prepare the container up
to the operation, run the operation with `PYOCIJAIL_FAILPOINT` set, check the
point fired, check `state` tells the truth (or fails with one clean line),
run `delete --force`, and require that nothing is left. Points reached once
per mount are killed at every mount.
"""

from __future__ import annotations

import time

import pytest

from tests.reliability import harness
from tests.reliability.harness import CRASHES

#: points hit once per mount: kill at each hit (the hosts' configs have these many)
REPEATS = {"create.linux.after-mount": 6, "create.freebsd.after-mount": 4}


def _cases() -> list:
    cases = []
    for point in harness.registry():
        for backend in harness.backends_of(point):
            hits = REPEATS.get(point, 1)
            for n in range(1, hits + 1):
                armed = point if hits == 1 else f"{point}#{n}"
                cases.append(pytest.param(backend, armed, id=f"{backend}-{armed}"))
    return cases


def test_registry_is_complete():
    """Every operation and process has points; the per-mount ones are known."""
    points = harness.registry()
    assert len(points) >= 25, points
    ops = {harness.operation(p) for p in points}
    assert ops == {"create", "start", "kill", "delete", "exec"}
    for counted in REPEATS:
        assert counted in points


def _prepare(host: harness.Host, op: str, cid: str, armed: str | None) -> None:
    if op == "create":
        return
    res = host.create(cid, failpoint=armed)
    assert res.code == 0, res
    assert host.state_dirs() == [cid]
    if op in ("exec", "kill", "delete"):
        host.ok("start", cid)


def _run(host: harness.Host, op: str, cid: str, armed: str | None):
    if op == "create":
        return host.create(cid, failpoint=armed)
    if op == "start":
        return host.cli("start", cid, failpoint=armed)
    if op == "kill":
        return host.cli("kill", cid, "KILL", failpoint=armed)
    if op == "delete":
        return host.cli("delete", "--force", cid, failpoint=armed)
    assert op == "exec"
    return host.cli("exec", "--detach", "--pid-file", str(host.work / "exec.pid"), cid,
                    *harness.PROGRAM, failpoint=armed)


def _is_program(pid: int) -> bool:
    argv = harness.cmdline(pid)
    return len(argv) == 2 and argv[0].endswith("sleep") and argv[1] == "1000"


def check_state(host: harness.Host, cid: str) -> str:
    """`state` after the crash: a legal status that matches the facts, or one clean error."""
    res = host.cli("state", cid)
    if res.code != 0:
        assert harness.one_clean_line(res), f"state after the crash: {res}"
        return "gone" if "does not exist" in res.err else "error"
    state = res.json()
    status = state["status"]
    assert status in harness.LEGAL, state
    pid = state.get("pid", 0)
    if status == "creating":
        pytest.fail(f"state says creating, but no create is running: {state}")
    elif status == "created":
        assert pid > 0 and harness.alive(pid), f"created, but the init is gone: {state}"
        assert not _is_program(pid), f"created, but the program already runs: {state}"
    elif status == "running":
        deadline = time.monotonic() + 5  # start may have been killed just before the exec
        while not _is_program(pid):
            assert harness.alive(pid), f"running, but process {pid} is gone: {state}"
            assert time.monotonic() < deadline, f"running, but {pid} never exec'd: {state}"
            time.sleep(0.02)
    else:  # stopped: nothing of the container may still run
        deadline = time.monotonic() + 5
        while True:
            harness.reap_orphans()
            live = [p for p in harness.token_processes(host.token)
                    if harness.cmdline(p)[:1] != ["true"]]  # a hook finishing
            if not live:
                break
            assert time.monotonic() < deadline, (
                f"state says stopped, but container processes run: "
                f"{[(p, harness.cmdline(p)) for p in live]}")
            time.sleep(0.05)
    return status


@pytest.mark.parametrize("backend,armed", _cases())
def test_crash_at(make_host, backend: str, armed: str) -> None:
    host = make_host(backend)
    point = armed.partition("#")[0]
    op = harness.operation(point)
    cid = host.cid
    early = harness.armed_by(point) != op  # a point of the init, armed at create
    _prepare(host, op, cid, armed if early else None)
    res = _run(host, op, cid, None if early else armed)
    fired = armed in host.fired()
    said = "not reached"
    leaks: list[str] = []
    try:
        assert fired, f"{armed} was never reached by {op}: {res}"
        assert res.code in (-9, 0) or harness.one_clean_line(res), res
        said = check_state(host, cid)
        gone = host.cli("delete", "--force", cid)
        assert gone.code == 0 and gone.err == "", f"delete --force after the crash: {gone}"
        leaks = host.leaks()
        assert not leaks, f"left behind after {armed}: {leaks}"
    finally:
        CRASHES.append((backend, armed, fired, said, leaks))
