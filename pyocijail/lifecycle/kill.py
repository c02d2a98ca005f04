# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""kill: signal the init process, or with --all every process of the container.

SIGKILL to a paused container thaws it, as runc does: a task in a frozen
cgroup v1 does not act on SIGKILL until thawed, and containerd's shim waits
for the exit before it deletes (`ctr task delete --force` hung forever on a
paused task). Other signals leave it paused; they are delivered at resume.
"""

import posix  # not os (~2 ms per call): tests/unit/test_import_budget.py
from _signal import SIGKILL  # (builtin, loaded at start-up; `signal` builds enums)

from pyocijail.failpoints import failpoint
from pyocijail.lifecycle.query import load
from pyocijail.state.status import PAUSED_MARK, Status, check

TYPE_CHECKING = False  # not `from typing import`: `kill` must not pay for typing
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context
    from pyocijail.state.record import Record
    from pyocijail.state.store import ContainerDir


def kill(ctx: "Context", container_id: str, sig: int, *, all_processes: bool = False) -> None:
    cdir, record, status = load(ctx, container_id)
    if all_processes:
        if status in (Status.STOPPED, Status.CREATING):
            return  # podman and containerd rely on this succeeding quietly
        from pyocijail.lifecycle.delete import kill_all

        kill_all(ctx, record, sig)
    else:
        check("kill", status)
        failpoint("kill.before-signal")
        try:
            posix.kill(record.pid, sig)
        except ProcessLookupError:
            pass  # it exited between the check and the signal
    if sig == SIGKILL and status is Status.PAUSED:
        _thaw(ctx, cdir, record)


def _thaw(ctx: "Context", cdir: "ContainerDir", record: "Record") -> None:
    """Thaw so the SIGKILL lands; the container is no longer paused (runc's
    status would read the freezer and say running until the process is gone)."""
    from pyocijail.lifecycle.delete import thaw

    if thaw(ctx, record):
        try:
            posix.unlink(cdir.file(PAUSED_MARK))
        except FileNotFoundError:
            pass  # a resume got there first
