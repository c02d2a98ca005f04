"""The container's /proc and /sys, reached only through descriptors the runtime checked.

After pivot_root the container's "/proc" is a path that the image or a racing
process can redirect (CVE-2025-52881): a `/proc` that is a symlink into a
volume, or a procfs folder renamed away and replaced by a tree of symlinks,
sent the runtime's oom_score_adj write elsewhere and made every mask miss. So
`mounts.mount_all` refuses a proc or sysfs destination that is a symlink (as
runc since CVE-2023-28642) and keeps an fd of each procfs and sysfs it mounts,
checked with fstatfs (`Trees.keep`). Every later access under them (sysctls,
oom_score_adj, masked and read-only paths) opens beneath that fd with openat2
RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV, and `pivot` mounts from
fds (open_tree, fsmount, move_mount): no `/proc/self/fd/N` is resolved through
the container's /proc. runc 1.1 walks the container's /proc by path; this
follows runc 1.2.8's and crun's fixes.

Every call goes through the `kernel.NsKernel` each function (and `Trees`)
takes, so the checks are visible on the recording double: the openat2
RESOLVE_* flags of each open and the fstatfs of each kept fd.
"""

from __future__ import annotations

import errno
import os

from pyocijail.backends.linux import libc
from pyocijail.errors import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from pyocijail.backends.linux.kernel import NsKernel

#: Kernel trees the runtime mounts: fstatfs magic, and where the host has its own.
KINDS = {"proc": (libc.PROC_SUPER_MAGIC, "/proc"), "sysfs": (libc.SYSFS_MAGIC, "/sys")}
_STRICT = libc.RESOLVE_BENEATH | libc.RESOLVE_NO_SYMLINKS | libc.RESOLVE_NO_XDEV


def _openat2(kernel: NsKernel, dir_fd: int, path: str, flags: int, resolve: int) -> int:
    for _attempt in range(32):
        try:
            return kernel.openat2(dir_fd, path, flags | os.O_CLOEXEC, resolve)
        except KernelError as e:
            if e.errno != errno.EAGAIN:  # a concurrent rename: try again
                raise
    raise KernelError("open", errno.EAGAIN, path)


def check_destination(kernel: NsKernel, rootfs: str, dest: str, kind: str) -> None:
    """Refuse a proc or sysfs mount point that is (or goes through) a symlink in the
    image, before anything is mounted there; a missing one is made later."""
    root = kernel.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        kernel.close(_openat2(kernel, root, dest, os.O_PATH, libc.RESOLVE_IN_ROOT
                          | libc.RESOLVE_NO_SYMLINKS))
    except KernelError as e:
        if e.errno == errno.ENOENT:
            return
        why = ("is a symlink" if e.errno == errno.ELOOP
               else f"cannot be opened ({os.strerror(e.errno or 0)})")
        raise KernelError("mount", e.errno, dest, f"{kind} must be mounted on a directory of "
                          f"the image, and {dest} {why} (refused, as runc)") from None
    finally:
        kernel.close(root)


def verify(kernel: NsKernel, fd: int, kind: str, where: str) -> None:
    """`fd` must be on a filesystem of `kind` (fstatfs), else it is closed and refused."""
    magic = kernel.fstatfs_type(fd)
    if magic != KINDS[kind][0]:
        kernel.close(fd)
        raise KernelError("mount", None, where, f"{where} is not the {kind} the runtime "
                          f"mounted (filesystem type {magic:#x}): refused")


class Trees:
    """The procfs and sysfs mounts this init made, by container destination, each
    an O_PATH fd of its root checked with fstatfs. Made before pivot_root and used
    after it, when the destinations themselves can no longer be trusted."""

    def __init__(self, kernel: NsKernel) -> None:
        self.kernel = kernel
        self.fds: dict[str, tuple[str, int]] = {}  # destination -> (kind, fd)

    def keep(self, rootfs: str, dest: str, kind: str) -> None:
        """Right after mounting `kind` on `dest`: open the new mount's root, no
        symlink followed, and check it is that filesystem (a folder renamed in
        between gives another filesystem: an error, not a redirect)."""
        kernel = self.kernel
        root = kernel.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = _openat2(kernel, root, dest, os.O_PATH | os.O_DIRECTORY,
                          libc.RESOLVE_IN_ROOT | libc.RESOLVE_NO_SYMLINKS)
        finally:
            kernel.close(root)
        verify(kernel, fd, kind, dest)
        dest = os.path.normpath("/" + dest.lstrip("/"))
        if dest in self.fds:  # mounted again over the first one: that one is hidden
            kernel.close(self.fds[dest][1])
        self.fds[dest] = (kind, fd)

    def find(self, path: str) -> tuple[str, int, str] | None:
        """(kind, fd, path beneath it) of the tree `path` lies in, the deepest one."""
        path = os.path.normpath("/" + path.lstrip("/"))
        best = None
        for dest, (kind, fd) in self.fds.items():
            if (path == dest or path.startswith(dest.rstrip("/") + "/")) and (
                    best is None or len(dest) > len(best[0])):
                best = (dest, kind, fd)
        if best is None:
            return None
        dest, kind, fd = best
        return kind, fd, os.path.relpath(path, dest)

    def proc(self) -> int | None:
        """An fd of the procfs mounted at /proc (or of any procfs mounted)."""
        found = self.find("/proc")
        if found is not None and found[0] == "proc":
            return found[1]
        return next((fd for kind, fd in self.fds.values() if kind == "proc"), None)

    def on_host(self, paths: Iterable[str]) -> frozenset[str]:
        """Those of `paths` in a kept tree that the host's own /proc or /sys has
        (call before pivot_root): missing in the container, they are an error."""
        found = set()
        for path in paths:
            where = self.find(path)
            if where is not None:
                host = KINDS[where[0]][1] + ("" if where[2] == "." else "/" + where[2])
                try:
                    self.kernel.stat(host, follow_symlinks=False)  # (os.path.lexists)
                except (OSError, ValueError):
                    continue
                found.add(path)
        return frozenset(found)

    def close(self, keep: int | None = None) -> None:
        """Close every fd but `keep` (the /proc one oom_score_adj still needs)."""
        for _kind, fd in self.fds.values():
            if fd != keep:
                self.kernel.close(fd)
        self.fds.clear()


def open_beneath(kernel: NsKernel, fd: int, rel: str, flags: int) -> int:
    """Open `rel` beneath a kept tree's fd: no symlink, no magic link, no `..` out
    of it, no other mount. Crossing a mount is allowed only on EXDEV, retried:
    the mount namespace is this init's own and nothing but it has mounted under
    its fresh procfs and sysfs (a config mount there, an earlier read-only path);
    symlinks stay refused."""
    try:
        return _openat2(kernel, fd, rel, flags, _STRICT)
    except KernelError as e:
        if e.errno != errno.EXDEV:
            raise
    return _openat2(kernel, fd, rel, flags, libc.RESOLVE_BENEATH | libc.RESOLVE_NO_SYMLINKS)


def open_proc(kernel: NsKernel, trees: Trees | None) -> int:
    """A new fd of a checked procfs: the one mounted at /proc by this init, else
    "/proc" as this process sees it now, never through a symlink (exec opens the
    host's before it joins the container)."""
    kept = trees.proc() if trees is not None else None
    if kept is not None:
        return kernel.dup(kept)
    try:
        fd = kernel.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise KernelError("open", e.errno, "/proc") from None
    verify(kernel, fd, "proc", "/proc")
    return fd


def write_own(kernel: NsKernel, proc_fd: int, name: str, value: str) -> None:
    """Write this process's /proc/<pid>/<name> through `proc_fd`: the pid is what
    the procfs's own "self" link says (readlink of an fd we trust, not a path
    walk), then `<pid>/<name>` is opened without following any link."""
    try:
        pid = kernel.readlink("self", dir_fd=proc_fd)
        fd = open_beneath(kernel, proc_fd, f"{pid}/{name}", os.O_WRONLY)
    except (OSError, KernelError) as e:
        raise KernelError("write", e.errno, f"/proc/self/{name}") from None
    try:
        kernel.write(fd, value.encode())
    except OSError as e:
        raise KernelError("write", e.errno, f"/proc/self/{name}") from None
    finally:
        kernel.close(fd)
