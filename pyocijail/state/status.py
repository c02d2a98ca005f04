"""Container status: computed from facts, with the allowed operations as a table.

Nothing here trusts the status written in state.json beyond "create
finished": the rest is derived on every call, like crun does, from
  - whether create still holds the lock        (creating)
  - whether the recorded process is alive      (pid + start time, zombie = dead)
  - whether the start barrier still exists     (created vs running)
  - whether the backend says it is frozen      (paused, as runc reports it)
"""

from __future__ import annotations

import enum
import os

from pyocijail.errors import InvalidStatus
from pyocijail.state import liveness
from pyocijail.state.record import Record
from pyocijail.state.store import ContainerDir

BARRIER = "start.sock"
PAUSED_MARK = "paused"


class Status(enum.Enum):
    CREATING = "creating"
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


#: operation -> statuses it is allowed in (runc's rules).
ALLOWED: dict[str, frozenset[Status]] = {
    "start": frozenset({Status.CREATED}),
    "kill": frozenset({Status.CREATED, Status.RUNNING, Status.PAUSED}),
    "exec": frozenset({Status.RUNNING}),
    "pause": frozenset({Status.RUNNING}),
    "resume": frozenset({Status.PAUSED}),
    "update": frozenset({Status.CREATED, Status.RUNNING, Status.PAUSED}),
    "delete": frozenset({Status.STOPPED, Status.CREATED}),
    "ps": frozenset({Status.CREATED, Status.RUNNING, Status.PAUSED}),
}

#: the wording callers match on (oci-contract.md section 3).
_MESSAGES = {
    ("kill", Status.STOPPED): "container not running",
    ("exec", Status.STOPPED): "cannot exec in a stopped container",
    ("delete", Status.RUNNING): "cannot delete container that is not stopped: running",
    ("delete", Status.PAUSED): "cannot delete container that is not stopped: paused",
}


def check(op: str, status: Status) -> None:
    if status not in ALLOWED[op]:
        raise InvalidStatus(op, status.value, _MESSAGES.get((op, status)))


def compute(record: Record, cdir: ContainerDir) -> Status:
    if record.status == Status.CREATING.value:
        # create writes "created" when it is done and holds the lock until then;
        # a "creating" record nobody holds is a create that died: stopped.
        creating = cdir.fd is None and cdir.locked_by_other()
        return Status.CREATING if creating else Status.STOPPED
    if not liveness.alive(record.pid, record.start_time):
        return Status.STOPPED
    if os.path.lexists(cdir.file(BARRIER)):
        return Status.CREATED
    if os.path.exists(cdir.file(PAUSED_MARK)):
        return Status.PAUSED
    return Status.RUNNING
