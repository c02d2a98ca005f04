"""kill: signal the init process, or with --all every process of the container."""

from __future__ import annotations

import os

from pyocijail.failpoints import failpoint
from pyocijail.lifecycle.query import load
from pyocijail.state.status import Status, check

TYPE_CHECKING = False  # not `from typing import`: `kill` must not pay for typing
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context


def kill(ctx: Context, container_id: str, sig: int, *, all_processes: bool = False) -> None:
    _, record, status = load(ctx, container_id)
    if all_processes:
        if status in (Status.STOPPED, Status.CREATING):
            return  # podman and containerd rely on this succeeding quietly
        from pyocijail.lifecycle.delete import kill_all

        kill_all(ctx, record, sig)
        return
    check("kill", status)
    failpoint("kill.before-signal")
    try:
        os.kill(record.pid, sig)
    except ProcessLookupError:
        pass  # it exited between the check and the signal
