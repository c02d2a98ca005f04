"""Crash injection for tests: `failpoint("name")` dies by SIGKILL when armed.

    PYOCIJAIL_FAILPOINT=create.after-prepare        die at the first hit
    PYOCIJAIL_FAILPOINT=create.linux.after-mount#3  die at the third hit in this process
    PYOCIJAIL_FAILPOINT_RECORD=/path/file           append "name pid\\n" there first

The environment is read once, at import. Disarmed (the normal case),
`failpoint` is an empty function: the cost is one call. Points live in the
runtime, the container's init and exec processes and the hook runner; the
reliability suite (tests/reliability) finds every `failpoint("...")` in the
source, kills the runtime at each one and checks that `state` tells the
truth and `delete --force` leaves nothing behind.

A pid namespace's init cannot SIGKILL itself (the kernel ignores signals
from inside the namespace that init has no handler for), so after the
signal the process also `_exit(137)`s: to everyone else it is the same
sudden death, no clean-up, every fd closed.
"""

import posix  # not os (~2 ms per call): tests/unit/test_import_budget.py

# posix.environ: the environment as it was at start-up, bytes to bytes.
_ARMED = posix.environ.get(b"PYOCIJAIL_FAILPOINT", b"").decode("utf-8", "replace") or None


def _off(name: str) -> None:
    """Disarmed: nothing."""


if _ARMED is None:
    failpoint = _off
else:
    import signal  # only when armed: the disarmed import is posix alone

    _NAME, _, _NTH = _ARMED.partition("#")
    _WANTED = int(_NTH) if _NTH.isdigit() else 1
    _hits = [0]
    # Opened now: after pivot_root or jail_attach the path is out of reach.
    _record = -1
    if posix.environ.get(b"PYOCIJAIL_FAILPOINT_RECORD"):
        try:
            _record = posix.open(posix.environ[b"PYOCIJAIL_FAILPOINT_RECORD"],
                                 posix.O_WRONLY | posix.O_APPEND | posix.O_CREAT
                                 | posix.O_CLOEXEC, 0o600)
        except OSError:
            pass

    def failpoint(name: str) -> None:
        """Armed: SIGKILL this process at the wanted hit of the armed point."""
        if name != _NAME:
            return
        _hits[0] += 1
        if _hits[0] != _WANTED:
            return
        if _record >= 0:
            try:
                posix.write(_record, f"{_ARMED} {posix.getpid()}\n".encode())
            except OSError:
                pass
        posix.kill(posix.getpid(), signal.SIGKILL)
        posix._exit(137)


__all__ = ["failpoint"]
