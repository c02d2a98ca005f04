"""The --pid-file of create and exec: the pid as digits, written atomically.

Its own module so that exec writes it without importing create (create's
hooks and state modules: ~1.5 ms, after the process is ready).
"""

from __future__ import annotations

import os

from pyocijail.errors import PyocijailError


def write_pid_file(path: str, pid: int) -> None:
    """Digits only, no newline (containerd parses it strictly), atomically."""
    from pyocijail.state.store import write_atomic

    path = os.path.abspath(path)
    try:
        write_atomic(path, str(pid).encode(), mode=0o644)
    except OSError as err:
        raise PyocijailError(f"cannot write pid file {path}: {err.strerror}") from err
