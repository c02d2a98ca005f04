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

import os

_ARMED = os.environ.get("PYOCIJAIL_FAILPOINT") or None


def _off(name: str) -> None:
    """Disarmed: nothing."""


if _ARMED is None:
    failpoint = _off
else:
    import signal  # only when armed: the disarmed import is os alone

    _NAME, _, _NTH = _ARMED.partition("#")
    _WANTED = int(_NTH) if _NTH.isdigit() else 1
    _hits = [0]
    # Opened now: after pivot_root or jail_attach the path is out of reach.
    _record = -1
    if os.environ.get("PYOCIJAIL_FAILPOINT_RECORD"):
        try:
            _record = os.open(os.environ["PYOCIJAIL_FAILPOINT_RECORD"],
                              os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            pass

    def failpoint(name: str) -> None:  # type: ignore[misc]
        """Armed: SIGKILL this process at the wanted hit of the armed point."""
        if name != _NAME:
            return
        _hits[0] += 1
        if _hits[0] != _WANTED:
            return
        if _record >= 0:
            try:
                os.write(_record, f"{_ARMED} {os.getpid()}\n".encode())
            except OSError:
                pass
        os.kill(os.getpid(), signal.SIGKILL)
        os._exit(137)


__all__ = ["failpoint"]
