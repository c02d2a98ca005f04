# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""start: release the waiting init process and return once it has exec'd.

`start` never spawns: the process conmon waits on is the one create made.
It connects to the init's barrier socket, hands it the state for the
startContainer hooks, and reads until EOF. The init writes EXECUTING when
only execve is left, and an error message if a step fails; the socket is
close-on-exec, so EXECUTING then EOF means the user program is running,
and EOF without it means the init died first (killed during a
startContainer hook, say).
"""

# `_socket`, not `socket`: the wrapper module builds enums at import (~3 ms).
import _socket
import posix  # not os (~2 ms per call): tests/unit/test_import_budget.py

from pyocijail import jsonlite
from pyocijail.errors import InitFailed, PyocijailError
from pyocijail.failpoints import failpoint
from pyocijail.process.stream import read_stream, short_unix_path
from pyocijail.state import liveness
from pyocijail.state.status import BARRIER, EXECUTING, Status, check, compute

TYPE_CHECKING = False  # not `from typing import`: `start` must not pay for typing
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context


def start(ctx: "Context", container_id: str) -> None:
    with ctx.store.open(container_id) as cdir:
        record = cdir.read()
        check("start", compute(record, cdir))
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            with short_unix_path(cdir.file(BARRIER)) as name:
                sock.connect(name)
            # Spent once connected: remove it before the init can exec, so a start
            # killed from here on never leaves "created" showing for a running program
            # (the init exits if the state does not arrive whole).
            _unlink(cdir.file(BARRIER))
            failpoint("start.after-connect")
            sock.sendall(jsonlite.dumps(record.oci_state(Status.CREATED.value)).encode() + b"\n")
            sock.shutdown(_socket.SHUT_WR)
            failpoint("start.after-send")
            reply = read_stream(sock)
        except OSError as err:
            raise PyocijailError(f"cannot start container: {err.strerror}") from err
        finally:
            sock.close()
            _unlink(cdir.file(BARRIER))
        executing = reply.startswith(EXECUTING)
        if executing:
            reply = _exec_failure(reply[len(EXECUTING):])
        if reply:
            raise InitFailed("start", reply.decode("utf-8", "replace"))
        # EOF without the byte from a live init: one made before the byte existed
        # (created, then pyocijail upgraded), which has exec'd.
        if not executing and not liveness.alive(record.pid, record.start_time):
            raise InitFailed("start", f"container init process {record.pid} exited before it "
                                      "ran the program")
        ctx.log.debug(f"container {container_id}: process {record.pid} exec'd")
        failpoint("start.after-exec")
        if not record.hooks.get("poststart"):
            return  # (the hook machinery is the heaviest import `start` could make)
        import signal

        from pyocijail.lifecycle.hooks import run_stage

        try:
            run_stage(ctx, "poststart", record.hooks, record.oci_state(Status.RUNNING.value))
        except PyocijailError:
            # v1.3.0: a failed poststart hook is fatal; stop the container.
            from pyocijail.lifecycle.delete import kill_all

            kill_all(ctx, record, signal.SIGKILL)
            raise


def _exec_failure(reply: bytes) -> bytes:
    """What follows EXECUTING: args[0] and a NUL, then nothing (the program runs),
    an error message, or the exec helper's failure record, put here in the words
    of a failed execve (`exec: "X": permission denied`: podman maps them to exit
    codes). An init made before args[0] was sent has no NUL."""
    name, sep, rest = reply.partition(b"\0")
    if not sep or not rest:
        return rest if sep else reply
    from pyocijail.process import exechelper

    text = exechelper.failure(name.decode("utf-8", "replace"), rest)
    return rest if text is None else text.encode()


def _unlink(path: str) -> None:
    try:
        posix.unlink(path)
    except FileNotFoundError:
        pass
