# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""delete: stop what is left, undo create, run poststop hooks, remove the state.

| status  | delete          | delete --force          |
| unknown | does not exist  | exit 0, remove leftovers |
| created | kill init, destroy (runc; containerd relies on it) |
| running | error           | SIGKILL all, destroy     |
| stopped | destroy         | destroy                  |
"""

import posix  # not os (~2 ms per call): tests/unit/test_import_budget.py
import time
from _signal import SIGKILL  # (builtin, loaded at start-up; `signal` builds enums)

from pyocijail.errors import ContainerNotFound, PyocijailError, StateCorrupt, StateMissing
from pyocijail.failpoints import failpoint
from pyocijail.state import liveness
from pyocijail.state.status import Status, check, compute
from pyocijail.state.undo import UndoFile

TYPE_CHECKING = False  # not `from typing import`: `delete` must not pay for typing
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context
    from pyocijail.state.record import Record
    from pyocijail.state.store import ContainerDir

KILL_WAIT = 10.0  # seconds to wait for killed processes to be gone


def delete(ctx: "Context", container_id: str, *, force: bool = False) -> None:
    try:
        cdir = ctx.store.open(container_id)
    except ContainerNotFound:
        if force:
            return
        raise
    with cdir:
        try:
            record = cdir.read()
        except ContainerNotFound:  # the folder is gone: as for an unknown id
            if force:
                return
            raise
        except (StateMissing, StateCorrupt):
            if not force:
                raise
            _remove_leftovers(ctx, cdir)
            return
        status = compute(record, cdir)
        if not force:
            check("delete", status)
        destroy(ctx, cdir, record, UndoFile(cdir.file("undo.jsonl")), run_poststop=True)


def destroy(ctx: "Context", cdir: "ContainerDir", record: "Record", undo: UndoFile, *,
            run_poststop: bool) -> None:
    """Kill every process, undo the backend, remove the directory. Idempotent."""
    backend = ctx.backend
    kill_all(ctx, record, SIGKILL)
    thaw(ctx, record)
    wait_gone(record)
    _kill_journaled(ctx, record, undo)
    failpoint("delete.after-kill")
    errors = []
    try:
        backend.destroy(record.backend_state, undo)
    except PyocijailError as err:
        errors.append(str(err))
    if run_poststop and record.hooks.get("poststop"):
        from pyocijail.lifecycle.hooks import run_stage

        run_stage(ctx, "poststop", record.hooks, record.oci_state(Status.STOPPED.value))
    if errors:
        raise PyocijailError("; ".join(errors))
    failpoint("delete.before-remove")
    cdir.remove()


def thaw(ctx: "Context", record: "Record") -> bool:
    """A frozen process cannot die: thaw (a no-op unless paused) so SIGKILL lands.

    False if the backend has no freezer, the container is gone, or it failed."""
    if not ctx.backend.supports_freeze or not liveness.alive(record.pid, record.start_time):
        return False
    try:
        ctx.backend.freeze(record.backend_state, record.pid, False)
    except PyocijailError as err:
        ctx.log.warn(f"thawing the container: {err}")
        return False
    return True


def kill_all(ctx: "Context", record: "Record", sig: int) -> int:
    """Signal every process of the container; returns how many were signalled."""
    if not liveness.alive(record.pid, record.start_time):
        pids: list[int] = []
    else:
        pids = [record.pid]
        try:
            pids += [p for p in ctx.backend.processes(record.backend_state, record.pid)
                     if p != record.pid]
        except PyocijailError as err:
            ctx.log.warn(f"listing the container's processes: {err}")
    count = 0
    for pid in pids:
        try:
            posix.kill(pid, sig)
            count += 1
        except ProcessLookupError:  # raced with its exit: not an error
            pass
    return count


def wait_gone(record: "Record", timeout: float = KILL_WAIT) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while liveness.alive(record.pid, record.start_time):
        if time.monotonic() > deadline:
            raise PyocijailError(f"process {record.pid} did not exit after SIGKILL")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _remove_leftovers(ctx: "Context", cdir: "ContainerDir") -> None:
    """A state dir without a readable state: undo what the journal says, remove it."""
    undo = UndoFile(cdir.file("undo.jsonl"))
    from pyocijail.state.record import Record

    _kill_journaled(ctx, Record(cdir.id, ""), undo)
    try:
        ctx.backend.destroy({}, undo)
    except PyocijailError as err:
        ctx.log.warn(f"cleaning up {cdir.id}: {err}")
    cdir.remove()


def _kill_journaled(ctx: "Context", record: "Record", undo: UndoFile) -> None:
    """Kill the init the journal names if state.json lost it (corrupt, or a bogus pid)."""
    from pyocijail.state.record import Record

    for entry in undo.entries():
        pid, token = entry.get("pid"), entry.get("startTime")
        if entry.get("op") != "process" or not isinstance(pid, int) or pid <= 0:
            continue
        if pid == record.pid and token == record.start_time:
            continue  # killed already
        init = Record(record.id, record.bundle, pid=pid, start_time=token,
                      backend_state=record.backend_state)
        kill_all(ctx, init, SIGKILL)
        wait_gone(init)
