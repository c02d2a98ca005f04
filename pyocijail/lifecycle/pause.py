"""pause/resume: stop and continue every process of the container.

The backend's `freeze` does it where it has one (the cgroup freezer on
Linux, SIGSTOP to every jail member on FreeBSD); otherwise SIGSTOP/SIGCONT
to each process the backend lists. A mark in the state dir makes `state`
report "paused" as runc does: the OCI state enum has no "paused", but runc,
containerd and podman all use it.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

from pyocijail.lifecycle.delete import kill_all
from pyocijail.state.status import PAUSED_MARK, check, compute

if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context


def pause(ctx: Context, container_id: str, *, frozen: bool) -> None:
    with ctx.store.open(container_id) as cdir:
        record = cdir.read()
        check("pause" if frozen else "resume", compute(record, cdir))
        freeze = getattr(ctx.backend, "freeze", None)
        if frozen:
            with open(cdir.file(PAUSED_MARK), "w"):
                pass
        if freeze is not None:
            freeze(record.backend_state, record.pid, frozen)
        else:
            kill_all(ctx, record, signal.SIGSTOP if frozen else signal.SIGCONT)
        if not frozen:
            os.unlink(cdir.file(PAUSED_MARK))


def processes(ctx: Context, container_id: str) -> list[int]:
    from pyocijail.lifecycle.query import load
    from pyocijail.state import liveness

    _, record, status = load(ctx, container_id)
    check("ps", status)
    if not liveness.alive(record.pid, record.start_time):
        return []
    pids = {record.pid, *ctx.backend.processes(record.backend_state, record.pid)}
    return sorted(pids)
