"""Kill the runtime (or the container's init, exec process, hook runner) at every failpoint.

For each point of `harness.registry()` and each backend that reaches it
(Linux for real, FreeBSD on the simulated kernel): prepare the container up
to the operation, run the operation with `PYOCIJAIL_FAILPOINT` set, check the
point fired, check `state` tells the truth (or fails with one clean line),
run `delete --force`, and require that nothing is left. Points reached once
per mount are killed at every mount.
"""

from __future__ import annotations

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
        said = harness.check_state(host, cid)
        gone = host.cli("delete", "--force", cid)
        assert gone.code == 0 and gone.err == "", f"delete --force after the crash: {gone}"
        leaks = host.leaks()
        assert not leaks, f"left behind after {armed}: {leaks}"
    finally:
        CRASHES.append((backend, armed, fired, said, leaks))
