"""Is the recorded process still the one we started?

`kill(pid, 0)` is fooled by zombies and by pid reuse, so a process counts as
alive only if it exists, is not a zombie, and has the start time recorded at
create. Linux reads /proc directly (cheap, no imports); elsewhere psutil.
"""

import sys

_LINUX = sys.platform.startswith("linux")
# A killed pid-namespace init stays in exit (waiting for its namespace's
# zombies to be reaped by their parents) long after it stopped being alive.
_PF_EXITING = 0x4


def start_time(pid: int) -> str | None:
    """An opaque token for the start of `pid`, or None if gone or a zombie."""
    if pid <= 0:
        return None
    if _LINUX:
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
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return repr(proc.create_time())
    except psutil.Error:
        return None


def alive(pid: int, token: str | None) -> bool:
    return token is not None and start_time(pid) == token
