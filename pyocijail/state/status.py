# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Container status: computed from facts, with the allowed operations as a table.

Nothing here trusts the status written in state.json beyond "create
finished": the rest is derived on every call, like crun does, from
  - whether create still holds the lock        (creating)
  - whether the recorded process is alive      (pid + start time, zombie = dead)
  - whether the start barrier still exists     (created vs running)
  - whether the backend says it is frozen      (paused, as runc reports it)
"""

from pyocijail import pathlite
from pyocijail.errors import InvalidStatus
from pyocijail.state import liveness
from pyocijail.state.record import Record
from pyocijail.state.store import ContainerDir

TYPE_CHECKING = False  # not `from typing import`: `state` must not pay for typing
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import ClassVar

BARRIER = "start.sock"
#: The init's first byte on the barrier connection once nothing but execve is
#: left: `start` then knows EOF means the program runs, not that the init died.
EXECUTING = b"\x00"
PAUSED_MARK = "paused"


class _StatusType(type):
    def __iter__(cls) -> "Iterator[Status]":
        return iter(cls._members)  # type: ignore[attr-defined]


class Status(metaclass=_StatusType):
    """The five statuses: singletons compared by identity, `.value` is the OCI word.

    Like an `enum.Enum` (iterable, `Status.RUNNING.value`) without importing
    `enum`, which costs `state` about a third of its budget.
    """

    __slots__ = ("value",)
    CREATING: "ClassVar[Status]"
    CREATED: "ClassVar[Status]"
    RUNNING: "ClassVar[Status]"
    PAUSED: "ClassVar[Status]"
    STOPPED: "ClassVar[Status]"

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"<Status.{self.value.upper()}: {self.value!r}>"

    def __reduce__(self) -> str:
        return f"Status.{self.value.upper()}"


Status.CREATING = Status("creating")
Status.CREATED = Status("created")
Status.RUNNING = Status("running")
Status.PAUSED = Status("paused")
Status.STOPPED = Status("stopped")
Status._members = (Status.CREATING, Status.CREATED, Status.RUNNING,  # type: ignore[attr-defined]
                   Status.PAUSED, Status.STOPPED)


#: operation -> statuses it is allowed in (runc's rules).
ALLOWED: dict[str, frozenset[Status]] = {
    "start": frozenset({Status.CREATED}),
    "kill": frozenset({Status.CREATED, Status.RUNNING, Status.PAUSED}),
    # runc allows exec before start: the debugging recipe looks around a created one
    "exec": frozenset({Status.CREATED, Status.RUNNING}),
    "pause": frozenset({Status.RUNNING}),
    "resume": frozenset({Status.PAUSED}),
    "update": frozenset({Status.CREATED, Status.RUNNING, Status.PAUSED}),
    "delete": frozenset({Status.STOPPED, Status.CREATED}),
    # a stopped container has no processes: runc lists none (containerd's
    # `ctr task ps` of an exited task shows an empty table, not an error)
    "ps": frozenset({Status.CREATED, Status.RUNNING, Status.PAUSED, Status.STOPPED}),
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
    if pathlite.lexists(cdir.file(BARRIER)):
        return Status.CREATED
    if pathlite.exists(cdir.file(PAUSED_MARK)):
        return Status.PAUSED
    return Status.RUNNING
