# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Is the recorded process still the one we started?

`kill(pid, 0)` is fooled by zombies and by pid reuse, so a process counts as
alive only if it exists, is not a zombie, and has the start time recorded at
create. Linux reads /proc directly (cheap, no imports); FreeBSD asks
sysctl kern.proc.pid.<pid> through ctypes (`backends/freebsd/procinfo.py`),
not psutil: both are on every `state`, `start`, `kill` and `delete`.
"""

from pyocijail import backends

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# A killed pid-namespace init stays in exit (waiting for its namespace's
# zombies to be reaped by their parents) long after it stopped being alive.
_PF_EXITING = 0x4
#: another way to read a process's start (pid -> token or None), installed by
#: `use`: a simulated FreeBSD host running on Linux reads its fake libc's table.
_reader: "Callable[[int], str | None] | None" = None


def use(reader: "Callable[[int], str | None]") -> None:
    """Read start times with `reader(pid)` from now on (tests: a simulated host)."""
    global _reader
    _reader = reader


def start_time(pid: int) -> str | None:
    """An opaque token for the start of `pid`, or None if gone or a zombie."""
    if pid <= 0:
        return None
    if _reader is not None:
        return _reader(pid)
    if backends.host_platform() == "linux":
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
        except (FileNotFoundError, ProcessLookupError):
            return None
        # comm may hold spaces and parentheses: split after the last ')'.
        fields = data[data.rfind(b")") + 2:].split()
        if fields[0] in (b"Z", b"X") or int(fields[6]) & _PF_EXITING:
            return None
        return fields[19].decode()
    from pyocijail.backends.freebsd.procinfo import start_time as kinfo_start

    return kinfo_start(pid)


def alive(pid: int, token: str | None) -> bool:
    return token is not None and start_time(pid) == token
