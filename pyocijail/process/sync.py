"""Messages between the runtime (R) and the container's init (I).

    R (pyocijail create)                      I (forked; pid goes to --pid-file)
    ---------------------                     -----------------------------------
    backend.prepare; fork  ─────────────────▶ backend.isolate (namespaces, mounts)
                           ◀── ISOLATED ────
    prestart, createRuntime hooks
                           ─── GO {state} ──▶ createContainer hooks; backend.enter;
                                              console; check cwd and args[0]; rlimits
                           ◀── READY ──────   (or ERROR {msg}; I exits)
    state.json "created", pid file
                           ─── CREATED ────▶  accept() on start.sock ... blocks
    exit 0                                    (EOF instead: create died; I exits)

    pyocijail start        ─── connect, {state} ▶ startContainer hooks, cwd,
                                                   user, umask, env, exec
                           ◀── EOF (close-on-exec) = exec happened
                           ◀── ERROR {msg}         = it did not
    poststart hooks; exit 0

With a user namespace (Linux), `backend.fork` first runs a short exchange
with a stage process S of its own, on a second channel, before I exists:

    R                                         S (forked; exits when I is forked)
    fork S                 ─────────────────▶ join namespaces given by path;
                                              unshare(CLONE_NEWUSER)
                           ◀── USERNS ──────
    write /proc/S/uid_map, gid_map
                           ─── MAPPED ─────▶ setresgid/setresuid 0;
                                              unshare(CLONE_NEWPID); fork I
                           ◀── PID {pid} ───  exit 0
    reap S; fork returns I's pid (state.json, --pid-file); the exchange above
    then goes on with I, which S's exit reparented to the caller's subreaper.

`exec` uses the same channel: E sends READY or ERROR, then EOF at exec. On
Linux the exec helper makes that exec, and reports its own failure (execve,
or its fork into the pid namespace) as one 8-byte record datagram instead
(`process.exechelper`); the start barrier gets the same record after
EXECUTING and args[0].
Each message is one JSON object in one SOCK_SEQPACKET datagram (or one
newline-terminated line on the start barrier's stream socket).
"""

from __future__ import annotations

import _socket

from pyocijail import jsonlite
from pyocijail.errors import InitFailed, ProtocolError
from pyocijail.process.stream import read_stream  # noqa: F401 - re-exported

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

ISOLATED, GO, READY, CREATED, ERROR = "isolated", "go", "ready", "created", "error"
USERNS, MAPPED, PID = "userns", "mapped", "pid"  # R <-> S, Linux user namespaces
MAX_MESSAGE = 1 << 20


class Channel:
    """One end of a SOCK_SEQPACKET socketpair, speaking JSON messages."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock

    @classmethod
    def pair(cls) -> tuple[Channel, Channel]:
        a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        return cls(a), cls(b)

    def send(self, kind: str, **data: Any) -> None:
        self.sock.sendall(jsonlite.dumps({"t": kind, **data}).encode())

    def recv(self) -> dict[str, Any] | None:
        """The next message, or None once the other side is gone (EOF)."""
        raw = self.recv_bytes()
        return None if raw is None else self.decode(raw)

    def recv_bytes(self) -> bytes | None:
        """The next datagram as it came (exec: the exec helper writes a raw record)."""
        try:
            raw = self.sock.recv(MAX_MESSAGE)
        except ConnectionResetError:
            return None
        return raw or None

    def expect(self, kind: str,
               explain: Callable[[], str | None] | None = None) -> dict[str, Any]:
        """The next message, which must be `kind`; an ERROR message or EOF raise
        InitFailed, in the words of ERROR's msg, of explain() (why the other side
        died, if it can tell) or "container init exited before it was ready"."""
        msg = self.recv()
        if msg is None:
            why = explain() if explain is not None else None
            raise InitFailed(kind, why or "container init exited before it was ready")
        if msg.get("t") == ERROR:
            raise InitFailed(kind, str(msg.get("msg")))
        if msg.get("t") != kind:
            raise ProtocolError(f"container init: unexpected message {msg.get('t')!r}")
        return msg

    @staticmethod
    def decode(raw: bytes) -> dict[str, Any] | None:
        msg = jsonlite.loads(raw)
        return msg if isinstance(msg, dict) else None

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()


