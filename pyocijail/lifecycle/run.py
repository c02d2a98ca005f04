"""run: create, start, wait, delete — for people debugging a bundle.

The runtime becomes a subreaper so it can wait on the init process and
anything reparented to it. With `process.terminal` and no console socket
it receives the pty master itself and relays this terminal to it.
"""

from __future__ import annotations

import os

from pyocijail import backends
from pyocijail.lifecycle.create import CreateRequest, create
from pyocijail.lifecycle.delete import delete
from pyocijail.lifecycle.exec_ import exit_code
from pyocijail.lifecycle.start import start

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context


PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
#: FreeBSD sys/wait.h idtype_t P_PID, sys/procctl.h PROC_REAP_ACQUIRE (5 there is
#: PROC_REAP_GETPIDS, which wants a struct to fill).
P_PID, PROC_REAP_ACQUIRE = 0, 2


def become_subreaper() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    platform = backends.host_platform()
    if platform == "linux":
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    elif platform == "freebsd":
        # int procctl(idtype_t, id_t, int, void *): id_t is 64-bit on FreeBSD, and
        # REAP_ACQUIRE acts only on the calling process, named by its pid.
        libc.procctl.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int, ctypes.c_void_p]
        libc.procctl(P_PID, os.getpid(), PROC_REAP_ACQUIRE, None)


def run(ctx: Context, req: CreateRequest, *, detach: bool = False, keep: bool = False) -> int:
    become_subreaper()
    req.relay_terminal = not detach  # detached, nobody would read the terminal (runc refuses too)
    try:
        record = create(ctx, req)
    finally:
        if req.console_pair is not None:
            req.console_pair.close()
    relay = req.relay
    try:
        start(ctx, req.id)
    except BaseException:
        delete(ctx, req.id, force=True)
        raise
    if detach:
        return 0
    master = None
    if relay is not None:
        from pyocijail.process import console

        master = console.recv_master(relay)
        relay.close()
        console.proxy(master)
    code = _wait(record.pid)
    if master is not None:
        os.close(master)
    if not keep:
        delete(ctx, req.id, force=True)
    return code


def _wait(pid: int) -> int:
    """Reap children until the init process exits; its exit code."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        if done == pid:
            return exit_code(status)
