"""pause/resume: stop and continue every process of the container.

A backend that `supports_freeze` (Linux: the cgroup freezer; FreeBSD: SIGSTOP
to the jail's processes) does the work; otherwise SIGSTOP/SIGCONT go to each process the
backend lists. Either way a mark in the state dir makes `state` report
"paused" as runc does (the OCI state enum has no "paused"; runc, containerd
and podman use it anyway).
"""

from __future__ import annotations

import os
import signal

from pyocijail.lifecycle.delete import kill_all
from pyocijail.state.status import PAUSED_MARK, check, compute

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context


def pause(ctx: Context, container_id: str, *, frozen: bool) -> None:
    with ctx.store.open(container_id) as cdir:
        record = cdir.read()
        check("pause" if frozen else "resume", compute(record, cdir))
        backend = ctx.backend
        if frozen:
            with open(cdir.file(PAUSED_MARK), "w"):
                pass
            if backend.supports_freeze:
                try:
                    backend.freeze(record.backend_state, record.pid, True)
                except BaseException:
                    os.unlink(cdir.file(PAUSED_MARK))
                    raise
            else:
                kill_all(ctx, record, signal.SIGSTOP)
        else:
            if backend.supports_freeze:
                backend.freeze(record.backend_state, record.pid, False)
            else:
                kill_all(ctx, record, signal.SIGCONT)
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
