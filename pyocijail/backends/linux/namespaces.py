"""Namespace types, joining by path, and the pid namespace for children.

The joins and unshares go through the `kernel.NsKernel` passed in first.
"""

from __future__ import annotations

import errno
import os

from pyocijail.backends.linux import libc
from pyocijail.errors import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from pyocijail.backends.linux.kernel import NsKernel

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
# setns order (fds are opened first): user first, mount last (it changes our root).
JOIN_ORDER = ("user", "cgroup", "ipc", "uts", "network", "pid", "time", "mount")


def setns_path(kernel: NsKernel, path: str, kind: str) -> None:
    try:
        fd = kernel.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise KernelError(f"open {kind} namespace", err.errno, path) from None
    try:
        kernel.setns(fd, NAMESPACES[kind][0])
    except KernelError as err:
        raise KernelError(f"join {kind} namespace", err.errno, path) from None
    finally:
        kernel.close(fd)


def join_all(kernel: NsKernel, pid: int, kinds: set[str]) -> None:
    """Enter init `pid`'s namespaces of `kinds` (see `setns_all`). The pid
    namespace is the one of our children: the caller forks after this."""
    fds = []
    try:
        for kind in JOIN_ORDER:
            if kind not in kinds:
                continue
            path = f"/proc/{pid}/ns/{NAMESPACES[kind][1]}"
            fds.append((kind, kernel.open(path, os.O_RDONLY | os.O_CLOEXEC), path))
        setns_all(kernel, fds)
    except OSError as err:
        raise KernelError("join container", err.errno, f"/proc/{pid}/ns") from None
    finally:
        for _, fd, _ in fds:
            kernel.close(fd)


def setns_all(kernel: NsKernel, fds: Sequence[tuple[str, int, str]]) -> None:
    """setns into each (kind, fd, where). With a user namespace among them, every other
    one that our present privileges allow is joined first (it may be owned by another
    user namespace than the one joined), then the user namespace, then the rest with
    its privileges (they belong to it)."""
    users = [f for f in fds if f[0] == "user"]
    later = []
    for kind, fd, where in fds:
        if kind == "user":
            continue
        try:
            kernel.setns(fd, NAMESPACES[kind][0])
        except KernelError as err:
            if not users or err.errno != errno.EPERM:  # maybe it belongs to the user ns
                raise KernelError(f"join {kind} namespace", err.errno, where) from None
            later.append((kind, fd, where))
    for kind, fd, where in [*users, *later]:
        try:
            kernel.setns(fd, NAMESPACES[kind][0])
        except KernelError as err:
            raise KernelError(f"join {kind} namespace", err.errno, where) from None


def pid_namespace_for_children(kernel: NsKernel, path: str | None) -> _PidNamespaceForChildren:
    """Children forked inside get the new (or given) pid namespace; we keep ours."""
    return _PidNamespaceForChildren(kernel, path)


class _PidNamespaceForChildren:
    """(A class, not @contextlib.contextmanager: contextlib costs `create` an import.)"""

    def __init__(self, kernel: NsKernel, path: str | None) -> None:
        self.kernel, self.path, self.own = kernel, path, -1

    def __enter__(self) -> None:
        self.own = self.kernel.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if self.path is None:
                self.kernel.unshare(libc.CLONE_NEWPID)
            else:
                setns_path(self.kernel, self.path, "pid")
        except BaseException:
            self.kernel.close(self.own)
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.kernel.setns(self.own, libc.CLONE_NEWPID)
        finally:
            self.kernel.close(self.own)


# <linux/sockios.h>, <net/if.h>
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def loopback_up() -> None:
    """Bring `lo` up in the network namespace just made, as runc does (with
    netlink): otherwise 127.0.0.1 is unreachable in `--network none` containers
    and pods. One SIOCSIFFLAGS on a socket of the new namespace; a joined
    namespace is left as its owner set it up."""
    import _socket
    import fcntl  # (loaded already: the state store locks with it)
    import sys

    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM, 0)
    try:
        # struct ifreq (40 bytes): the name (16), then ifr_flags, a short
        req = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, b"lo".ljust(40, b"\0"))
        flags = int.from_bytes(req[16:18], sys.byteorder)
        if not flags & IFF_UP:
            fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS,
                        req[:16] + (flags | IFF_UP).to_bytes(2, sys.byteorder) + req[18:])
    except OSError as err:
        raise KernelError("bring up lo", err.errno) from None
    finally:
        sock.close()
