"""A runtime killed at any FreeBSD failpoint leaves nothing that `delete --force` misses."""

from __future__ import annotations

import os

import pytest

from tests.integration.freebsd.conftest import Host
from tests.reliability import harness

pytestmark = pytest.mark.freebsd_host

POINTS = [p for p in harness.registry() if "freebsd" in harness.backends_of(p)]
#: hooks for every stage: host stages run the host's true, container stages the jail's
HOOKS = {stage: [{"path": "/bin/true" if stage in ("createContainer", "startContainer")
                  else "/usr/bin/true", "args": ["true"]}] for stage in harness.HOOK_STAGES}


@pytest.mark.parametrize("point", POINTS)
def test_crash_then_delete_force_leaves_nothing(host: Host, point: str) -> None:
    """Kill the runtime at `point`, then `delete --force`: no jail, mount, rule or state."""
    armed = {**os.environ, "PYOCIJAIL_FAILPOINT": point}
    op = harness.operation(point)
    cid = host.new_id()
    bundle = host.bundle(["/bin/sleep", "60"], hooks=HOOKS)
    create = ("create", "--bundle", bundle, "--pid-file", f"{bundle}/pid", cid)
    host.runtime(*create, env=armed if harness.armed_by(point) == "create" else None)
    if op in ("start", "exec", "kill", "delete"):
        host.runtime("start", cid, env=armed if op == "start" else None)
    if op == "exec":
        host.runtime("exec", cid, "/bin/true", env=armed)
    if op == "kill":
        host.runtime("kill", "--all", cid, "KILL", env=armed)
    if op == "delete":
        host.runtime("delete", "--force", cid, env=armed)
    res = host.runtime("delete", "--force", cid)
    assert res.code == 0 or "does not exist" in res.err, res
    assert not host.leaks()
