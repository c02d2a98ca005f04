"""pivot_root and what follows it in the init: sysctls, read-only and masked
paths, the read-only root, an unbindable root.

After pivot_root nothing is resolved through the container's `/proc`. A masked
or read-only path beneath a procfs or sysfs the runtime mounted is opened from
the fd `procfs.Trees` kept of it, anything else with the kernel's `open_in_root`;
the mask or read-only bind is made detached (fsmount, open_tree) and attached
on that fd with move_mount, so nothing is resolved through the container's
`/proc/self/fd` (CVE-2025-52881). Files are masked only with a `/dev/null`
found to be the character device 1:3 (CVE-2025-31133). See `mounts` for the
order of the whole set-up; every kernel call, the sysctl writes too, goes
through the `kernel.NsKernel` each function takes first.
"""

from __future__ import annotations

import errno
import os
import stat

from pyocijail.backends.linux import libc, mountlib, procfs
from pyocijail.backends.linux.libc import (
    MNT_DETACH,
    MS_BIND,
    MS_RDONLY,
    MS_REC,
    MS_SLAVE,
    MS_UNBINDABLE,
)
from pyocijail.errors import ConfigError, KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from pyocijail.backends.linux.kernel import NsKernel


# --- pivot_root ----------------------------------------------------------------------

def pivot_root(kernel: NsKernel, rootfs: str, *, bound: bool = False, log: Any = None) -> None:
    """Make `rootfs` the root of this mount namespace and drop the old root.

    Call in the container's own mount namespace after mount_all/setup_devices.
    The old root is made rslave before the lazy unmount, so the detach cannot
    propagate to the host's mounts. Leaves the cwd at the new "/". `bound`:
    `bind_rootfs` made the rootfs a mount point (else it is bound here if needed).
    """
    real = os.path.realpath(rootfs)
    if not bound and real not in {point for _i, _p, point, _o in mountlib.mountinfo(kernel)}:
        # pivot_root(2) needs a mount point: bind the rootfs onto itself.
        mountlib.mount(kernel, log, real, real, None, MS_BIND | MS_REC, None, real)
    old = kernel.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        new = kernel.open(real, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
        try:
            kernel.fchdir(new)
            if log is not None:
                log.debug(f"pivot_root {real}")
            kernel.pivot_root(".", ".")
            # The old root is now stacked on "/"; our fd still names it.
            kernel.fchdir(old)
            mountlib.mount(kernel, log, None, ".", None, MS_SLAVE | MS_REC, None, "old root")
            if log is not None:
                log.debug("umount2 old root MNT_DETACH")
            kernel.umount2(".", MNT_DETACH)
            kernel.chdir("/")
        finally:
            kernel.close(new)
    finally:
        kernel.close(old)


def make_root_unbindable(kernel: NsKernel, *, log: Any = None) -> None:
    """`rootfsPropagation: unbindable`, last (read-only paths bind first): the
    container's "/" and its submounts can no longer be bound."""
    mountlib.mount(kernel, log, None, "/", None, MS_UNBINDABLE | MS_REC, None, "/")


def remount_readonly_root(kernel: NsKernel, *, log: Any = None) -> None:
    """`root.readonly`: make "/" read-only (after pivot_root), keeping its other flags."""
    mountlib.remount_bind(kernel, log, "/", MS_RDONLY, 0, "/")


# --- after pivot --------------------------------------------------------------------

_SYSCTL_PREFIXES = ("kernel.", "fs.mqueue.", "net.")


def check_sysctl(sysctl: Mapping[str, str]) -> None:
    """Refuse keys that are malformed or not namespaced (pure; for plan()).

    Simplified from runc: any `kernel.`, `fs.mqueue.` or `net.` key is allowed
    whether or not the matching namespace is new; the kernel refuses writes to
    the few non-namespaced `kernel.*` keys (EPERM/EROFS) at apply time.
    """
    for key in sysctl:
        parts = key.split(".")
        if not key.startswith(_SYSCTL_PREFIXES) or any(
                p in ("", "..") or "/" in p or "\0" in p for p in parts):
            raise ConfigError(f"sysctl {key!r} is not allowed in a container")


def apply_sysctl(kernel: NsKernel, sysctl: Mapping[str, str], *, log: Any = None,
                 trees: procfs.Trees | None = None) -> None:
    """Write each value to /proc/sys/<key with dots as slashes> (after pivot_root),
    through the procfs this init mounted (`procfs.open_proc`), no link followed."""
    check_sysctl(sysctl)
    proc = procfs.open_proc(kernel, trees)
    try:
        for key, value in sysctl.items():
            if log is not None:
                log.debug(f"sysctl {key}={value}")
            try:
                fd = procfs.open_beneath(kernel, proc, "sys/" + key.replace(".", "/"),
                                         os.O_WRONLY | os.O_TRUNC)
                try:
                    kernel.write(fd, str(value).encode())
                finally:
                    kernel.close(fd)
            except OSError as e:
                raise KernelError("sysctl", e.errno, key) from None
            except KernelError as e:
                raise KernelError("sysctl", e.errno, key) from None
    finally:
        kernel.close(proc)

# --- masked and read-only paths ------------------------------------------------------

def _target(kernel: NsKernel, path: str, trees: procfs.Trees | None,
            expected: frozenset[str]) -> int | None:
    """An O_PATH fd of a masked or read-only path, None to skip it.

    Beneath a procfs or sysfs the runtime mounted, it is opened from that
    tree's fd, no symlink followed; missing there while the host has it
    (`expected`, see `Trees.on_host`) is an error: the container's tree is not
    the kernel's. Missing where the host lacks it too (a kernel without
    /proc/kcore), or anywhere else in the root, it is skipped, as runc."""
    where = trees.find(path) if trees is not None else None
    try:
        if where is None:
            return kernel.open_in_root("/", path, os.O_PATH)
        return procfs.open_beneath(kernel, where[1], where[2], os.O_PATH)
    except KernelError as e:
        missing = e.errno in (errno.ENOENT, errno.ENOTDIR)
        if missing and path not in expected:
            return None
        detail = None
        if missing:
            detail = ("missing in the container's /proc or /sys although the host has it: "
                      "cannot mask it or make it read-only")
        elif e.errno == errno.ELOOP:
            detail = "goes through a symlink: refused"
        raise KernelError("masked or read-only path", e.errno, path, detail) from None


def _dev_null(kernel: NsKernel) -> int:
    """The container's /dev/null, O_PATH|O_NOFOLLOW, checked to be the character
    device 1:3 (CVE-2025-31133: a symlink or another node there would be bound
    over every masked file)."""
    try:
        fd = kernel.open_in_root("/", "/dev/null", os.O_PATH | os.O_NOFOLLOW)
    except KernelError as e:
        raise KernelError("mask", e.errno, "/dev/null") from None
    st = kernel.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
        kernel.close(fd)
        raise KernelError("mask", None, "/dev/null", "/dev/null is not the character "
                          "device 1:3 (replaced after it was made?): refusing to bind it")
    return fd


def _attach(kernel: NsKernel, log: Any, tree: int, target: int, what: str, path: str) -> None:
    """Attach the detached mount `tree` on `target` and close it."""
    if log is not None:
        log.debug(f"move_mount {what} -> {path}")
    try:
        kernel.move_mount(tree, target)
    except KernelError as e:
        raise KernelError("mount", e.errno, path) from None
    finally:
        kernel.close(tree)


def mask_paths(kernel: NsKernel, paths: Iterable[str], *, log: Any = None,
               trees: procfs.Trees | None = None, expected: frozenset[str] = frozenset(),
               mount_label: str | None = None) -> None:
    """Hide paths (after pivot_root): an empty read-only tmpfs over directories
    (with the SELinux mount label as its `context`, as runc), /dev/null over
    anything else, each mounted from fds (`procfs`)."""
    null = None
    try:
        for path in paths:
            fd = _target(kernel, path, trees, expected)
            if fd is None:
                continue
            try:
                if stat.S_ISDIR(kernel.fstat(fd).st_mode):
                    tree = kernel.fsmount_new("tmpfs", "tmpfs", readonly=True,
                                              context=mount_label)
                    _attach(kernel, log, tree, fd, "tmpfs (ro)", path)
                else:
                    if null is None:
                        null = _dev_null(kernel)
                    _attach(kernel, log, kernel.open_tree(null, libc.OPEN_TREE_CLONE), fd,
                            "/dev/null", path)
            finally:
                kernel.close(fd)
    finally:
        if null is not None:
            kernel.close(null)


def readonly_paths(kernel: NsKernel, paths: Iterable[str], *, log: Any = None,
                   trees: procfs.Trees | None = None,
                   expected: frozenset[str] = frozenset()) -> None:
    """Make paths read-only (after pivot_root): a recursive bind of the path onto
    itself with its top mount read-only (as runc: submounts stay as they are),
    made detached from the path's fd and then attached over it."""
    for path in paths:
        fd = _target(kernel, path, trees, expected)
        if fd is None:
            continue
        try:
            tree = kernel.open_tree(fd, libc.OPEN_TREE_CLONE | libc.AT_RECURSIVE)
            try:
                kernel.mount_setattr(tree, libc.MOUNT_ATTR_RDONLY)
            except BaseException:
                kernel.close(tree)
                raise
            _attach(kernel, log, tree, fd, "rbind (ro)", path)
        except KernelError as e:
            raise KernelError("mount", e.errno, path) from None
        finally:
            kernel.close(fd)
