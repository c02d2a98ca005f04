"""Namespace types, joining by path, and the pid namespace for children."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from pyocijail.backends.linux import libc
from pyocijail.errors import KernelError

# namespace type (config) -> (clone flag, /proc/<pid>/ns name)
NAMESPACES = {
    "pid": (libc.CLONE_NEWPID, "pid"),
    "network": (libc.CLONE_NEWNET, "net"),
    "mount": (libc.CLONE_NEWNS, "mnt"),
    "ipc": (libc.CLONE_NEWIPC, "ipc"),
    "uts": (libc.CLONE_NEWUTS, "uts"),
    "cgroup": (libc.CLONE_NEWCGROUP, "cgroup"),
    "user": (libc.CLONE_NEWUSER, "user"),
    "time": (libc.CLONE_NEWTIME, "time"),
}
# setns order for exec: user first, mount last (it changes our root).
JOIN_ORDER = ("user", "cgroup", "ipc", "uts", "network", "pid", "time", "mount")


def setns_path(path: str, kind: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise KernelError(f"open {kind} namespace", err.errno, path) from None
    try:
        libc.setns(fd, NAMESPACES[kind][0])
    except KernelError as err:
        raise KernelError(f"join {kind} namespace", err.errno, path) from None
    finally:
        os.close(fd)


def join_all(pid: int, kinds: set[str]) -> None:
    """Enter init `pid`'s namespaces of `kinds` (pid excepted), mount last."""
    fds = []
    try:
        for kind in JOIN_ORDER:
            if kind == "pid" or kind not in kinds:
                continue
            fds.append((kind, os.open(f"/proc/{pid}/ns/{NAMESPACES[kind][1]}",
                                      os.O_RDONLY | os.O_CLOEXEC)))
        for kind, fd in fds:
            libc.setns(fd, NAMESPACES[kind][0])
    except OSError as err:
        raise KernelError("join container", err.errno, f"/proc/{pid}/ns") from None
    finally:
        for _, fd in fds:
            os.close(fd)


@contextlib.contextmanager
def pid_namespace_for_children(path: str | None) -> Iterator[None]:
    """Children forked inside get the new (or given) pid namespace; we keep ours."""
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if path is None:
            libc.unshare(libc.CLONE_NEWPID)
        else:
            setns_path(path, "pid")
        try:
            yield
        finally:
            libc.setns(own, libc.CLONE_NEWPID)
    finally:
        os.close(own)
