"""Mount primitives shared by the phases of the container's filesystem set-up
(`mounts` before pivot_root, `devices`, `pivot` after it, `cgroupmount`).

Every target is an fd from the kernel's `open_in_root`, mounted on through
`/proc/self/fd/N` (`fd_path`), so a symlink swapped into the rootfs between the
check and the mount cannot send a mount outside it. Every call goes through
the `kernel.NsKernel` passed in first.
"""

from __future__ import annotations

import os

from pyocijail.backends.linux.cgroups import unescape
from pyocijail.backends.linux.libc import (
    MS_BIND,
    MS_NOATIME,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
    MS_STRICTATIME,
)
from pyocijail.errors import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.backends.linux.kernel import NsKernel

#: The atime flags: one replaces the others (mount(2)).
ATIME_FLAGS = MS_NOATIME | MS_RELATIME | MS_STRICTATIME


def fd_path(fd: int) -> str:
    """The path that names an open fd's file, for mount(2) (before pivot_root: the host's /proc)."""
    return f"/proc/self/fd/{fd}"


def mount(kernel: NsKernel, log: Any, source: str | None, target: str, fstype: str | None,
          flags: int, data: str | None, where: str) -> None:
    """mount(2) with a trace line; errors name the container path, not /proc/self/fd/N."""
    if log is not None:
        log.debug(f"mount {source} -> {where} type={fstype} flags={flags:#x} data={data!r}")
    try:
        kernel.mount(source, target, fstype, flags, data or None)
    except KernelError as e:
        raise KernelError("mount", e.errno, where) from None


def in_root(kernel: NsKernel, rootfs: str, dest: str, flags: int = os.O_PATH) -> int:
    """An fd of `dest` inside `rootfs` (`NsKernel.open_in_root`)."""
    return kernel.open_in_root(rootfs, dest, flags)


def remount_bind(kernel: NsKernel, log: Any, target: str, set_flags: int, clear: int,
                 where: str) -> None:
    """Apply per-mount flags to a bind mount, keeping the flags it already has
    (the kernel refuses to drop locked nosuid/nodev/noexec/atime in a userns)."""
    current = kernel.mount_flags_of(target)
    if set_flags & ATIME_FLAGS:
        current &= ~ATIME_FLAGS
    wanted = (current & ~clear) | set_flags
    if wanted != current:
        mount(kernel, log, None, target, None, wanted | MS_BIND | MS_REMOUNT, None, where)


def bind(kernel: NsKernel, log: Any, source: str, rootfs: str, dest: str, flags: int,
         clear: int) -> None:
    """Bind `source` on `dest` in `rootfs` (MS_REC in `flags`: recursively), then
    apply the other `flags` and the `clear`ed ones with a remount."""
    fd = in_root(kernel, rootfs, dest)
    try:
        mount(kernel, log, source, fd_path(fd), None, MS_BIND | (flags & MS_REC), None, dest)
    finally:
        kernel.close(fd)
    extra = flags & ~(MS_BIND | MS_REC | MS_REMOUNT)
    if extra or clear:
        # Reopen: the old fd still names the covered directory, not the new mount.
        # Like runc, only the top mount of an rbind gets the flags (use rro for more).
        fd = in_root(kernel, rootfs, dest)
        try:
            remount_bind(kernel, log, fd_path(fd), extra, clear, dest)
        finally:
            kernel.close(fd)


def mountinfo(kernel: NsKernel) -> list[tuple[int, int, str, str]]:
    """(mount id, parent id, mount point, per-mount options) from /proc/self/mountinfo."""
    result = []
    for line in kernel.mountinfo():
        fields = line.split(" ")
        result.append((int(fields[0]), int(fields[1]), unescape(fields[4]), fields[5]))
    return result


def parent_mount(kernel: NsKernel, path: str) -> tuple[str, list[str]]:
    """The mount `path` is on (the longest mount point that contains it, the
    top one of a stack) and its propagation fields (`shared:N`, `unbindable`...)."""
    best, fields = "/", []
    for line in kernel.mountinfo():
        parts = line.split(" ")
        point = unescape(parts[4])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fields = point, parts[6:parts.index("-")]
    return best, fields
