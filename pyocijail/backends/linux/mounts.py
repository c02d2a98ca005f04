"""The container's mounts, before pivot_root (the init process, in its own
mount namespace). The order of the whole filesystem set-up:

    unshare(CLONE_NEWNS)                                    (the backend)
    mounts.set_root_propagation(kernel, ...)                first
    mounts.bind_rootfs(kernel, rootfs)                      before any mount in it
    mounts.mount_all(kernel, rootfs, spec.mounts, bundle)   before pivot
    devices.setup_devices(kernel, rootfs, linux.devices)    before pivot
    pivot.pivot_root(kernel, rootfs)
    pivot.apply_sysctl(...), pivot.readonly_paths(kernel, ...), pivot.mask_paths(kernel, ...)
    pivot.remount_readonly_root(kernel)                     last, if root.readonly
    pivot.make_root_unbindable(kernel)                      last, if asked

Options are parsed by `mountopts` (also at plan time), the primitives every
phase shares are `mountlib`; every kernel call goes through the
`kernel.NsKernel` each function takes first. Every mount target is opened with
the kernel's `open_in_root` and mounted on `/proc/self/fd/N`, so a symlink swapped
into the rootfs between the check and the mount cannot send a mount outside
the rootfs. Mount point creation is race-free the same way
(`NsKernel.ensure_mountpoint`). That `/proc` is the host's, before pivot_root;
after it nothing is reached through the container's `/proc` (`procfs`).
"""

from __future__ import annotations

import errno
import os
import stat

from pyocijail import values
from pyocijail.backends.linux import mountlib, procfs
from pyocijail.backends.linux.libc import (
    MS_BIND,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SHARED,
    MS_SLAVE,
    MS_UNBINDABLE,
)
from pyocijail.backends.linux.mountlib import fd_path, in_root
from pyocijail.backends.linux.mountopts import MountOptions, check_mount
from pyocijail.errors import ConfigError, KernelError
from pyocijail.failpoints import failpoint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from pyocijail.backends.linux.kernel import NsKernel
    from pyocijail.spec import model

    #: `cgroup_mount(kernel, log, rootfs, dest, opts)` of `mount_all`
    CgroupMount = Callable[[NsKernel, Any, str, str, MountOptions], None]


# --- the root ---------------------------------------------------------------------------

_ROOT_PROPAGATION = {"private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
                     "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
                     "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC,
                     "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC}


def set_root_propagation(kernel: NsKernel, propagation: str | None = None, *,
                         log: Any = None) -> None:
    """First step after unshare(CLONE_NEWNS): change "/" recursively to
    `linux.rootfsPropagation` (default rslave, as runc), so that nothing
    mounted from now on propagates back to the host. Diverges from runc: the
    change is always recursive ("private" acts as "rprivate"), since a
    submount left shared with the host would carry our mounts back to it; and
    "unbindable" makes "/" rslave here, the container's root unbindable only
    after pivot_root (`make_root_unbindable`): runc makes the host's tree
    unbindable, and then cannot bind the rootfs (its create fails, EINVAL)."""
    if propagation is not None and propagation not in _ROOT_PROPAGATION:
        raise ConfigError(f"unknown rootfsPropagation {propagation!r}")
    if propagation in ("unbindable", "runbindable"):
        propagation = "rslave"
    flags = _ROOT_PROPAGATION[propagation or "rslave"] | MS_REC
    mountlib.mount(kernel, log, None, "/", None, flags, None, "/")


def bind_rootfs(kernel: NsKernel, rootfs: str, *, log: Any = None) -> None:
    """Bind the rootfs onto itself before anything is mounted in it (runc's
    prepareRoot), its parent mount made private first if it is shared (runc's
    rootfsParentMountPrivate) or unbindable (runc leaves that one and fails).

    Why, each time: pivot_root(2) refuses a new root whose parent mount is
    shared (EINVAL: rootfsPropagation shared, c1); a bind of the rootfs made
    after the container's mounts would drop its unbindable submounts (c2) and
    copy the procfs and sysfs mounts, whose fds `procfs.Trees` keeps would then
    name the originals, left behind with the old root; and with a user namespace
    the rootfs mount copied from the host is locked (MNT_LOCKED), which
    pivot_root refuses, while a bind made here is not.
    """
    real = os.path.realpath(rootfs)
    parent, fields = mountlib.parent_mount(kernel, real)
    if any(f.startswith("shared:") or f == "unbindable" for f in fields):
        mountlib.mount(kernel, log, None, parent, None, MS_PRIVATE, None, parent)
    mountlib.mount(kernel, log, real, real, None, MS_BIND | MS_REC, None, real)



# --- mount_all ------------------------------------------------------------------------

def _tmpfs_copyup(kernel: NsKernel, log: Any, source: str, rootfs: str, dest: str,
                  opts: MountOptions) -> None:
    """Mount a tmpfs over `dest` holding a copy of what it covers.

    Diverges from runc (which mounts in a temporary dir and moves it): we keep
    an fd of the covered directory open, so no temporary mount point is needed.
    runc does not chown the tmpfs; here it keeps the covered directory's owner.
    The tmpfs is mounted writable and made read-only after the copy if asked.
    """
    lower = in_root(kernel, rootfs, dest, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = in_root(kernel, rootfs, dest)
        try:
            mountlib.mount(kernel, log, source, fd_path(fd), "tmpfs", opts.flags & ~MS_RDONLY,
                           opts.data, dest)
        finally:
            kernel.close(fd)
        upper = in_root(kernel, rootfs, dest, os.O_RDONLY | os.O_DIRECTORY)
        try:
            st = kernel.fstat(lower)
            kernel.fchown(upper, st.st_uid, st.st_gid)  # (the mode: `_tmpfs_mode`)
            if log is not None:
                log.debug(f"tmpcopyup {dest}")
            kernel.copy_tree(lower, upper)
            if opts.readonly:
                mountlib.mount(kernel, log, None, fd_path(upper), None,
                               opts.flags | MS_REMOUNT, opts.data, dest)
        finally:
            kernel.close(upper)
    finally:
        kernel.close(lower)


def _cgroup(kernel: NsKernel, log: Any, rootfs: str, dest: str, opts: MountOptions) -> None:
    """`type: cgroup` on this cgroup v1/v2 hybrid: rbind the host's /sys/fs/cgroup.

    runc instead mounts a tmpfs and binds the container's own sub-hierarchy of
    each controller; here the whole host tree is visible (read-only when the
    config says ro, which podman does) until a cgroup namespace implementation
    lands. Flags go to every submount, since each controller is its own mount.
    """
    mountlib.bind(kernel, log, "/sys/fs/cgroup", rootfs, dest, opts.flags | MS_BIND | MS_REC,
                  opts.clear)
    extra = opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)
    if not (extra or opts.clear):
        return
    top = kernel.resolve_in_root(rootfs, dest)
    for _id, _parent, point, _opts in mountlib.mountinfo(kernel):
        if point.startswith(top + "/"):
            mountlib.remount_bind(kernel, log, point, extra, opts.clear, dest + point[len(top):])


def _plain(kernel: NsKernel, log: Any, source: str, rootfs: str, dest: str, kind: str,
           opts: MountOptions) -> None:
    """Any other filesystem type: one mount(2) with the flags and data."""
    data = opts.data
    if kind == "devpts":  # a private pty instance, usable by non-root users (as runc)
        words = data.split(",") if data else []
        given = {w.split("=")[0] for w in words}
        words += [w for w in ("newinstance", "ptmxmode=0666") if w.split("=")[0] not in given]
        data = ",".join(words)
    fd = in_root(kernel, rootfs, dest)
    try:
        mountlib.mount(kernel, log, source, fd_path(fd), kind, opts.flags, data, dest)
    except KernelError as e:
        # Without its own network namespace (in a userns) the kernel refuses a
        # fresh sysfs, and cgroup2 may be refused too: show the host's, like runc
        # does for sysfs.
        if e.errno not in (errno.EPERM, errno.EBUSY) or kind not in ("sysfs", "cgroup2"):
            raise
        host = "/sys" if kind == "sysfs" else "/sys/fs/cgroup/unified"
        mountlib.bind(kernel, log, host, rootfs, dest, opts.flags | MS_BIND | MS_REC,
                      opts.clear)
    finally:
        kernel.close(fd)


def _tmpfs_mode(kernel: NsKernel, rootfs: str, dest: str, opts: MountOptions, *,
                existed: bool) -> MountOptions:
    """As runc: a tmpfs over a directory the image has takes its mode (a `mode=`
    in the options still wins, coming later); on a mount point made just now it
    keeps tmpfs's own 1777, so any user may write there (`--tmpfs /x`, podman's
    `--read-only` /run and /var/tmp on an image that lacks them)."""
    if not existed:
        return opts
    fd = in_root(kernel, rootfs, dest)
    try:
        mode = stat.S_IMODE(kernel.fstat(fd).st_mode)
    finally:
        kernel.close(fd)
    data = f"mode={mode:04o}" + (f",{opts.data}" if opts.data else "")
    return values.evolve(opts, data=data)


def mount_all(kernel: NsKernel, rootfs: str, mounts: Sequence[model.Mount], bundle: str, *,
              log: Any = None, created: list[str] | None = None,
              cgroup_mount: CgroupMount | None = None,
              trees: procfs.Trees | None = None,
              mount_label: str | None = None) -> list[str]:
    """Mount every entry of `mounts`, in order, under `rootfs` (before pivot_root).

    Call in the container's own mount namespace with "/" already rslave or
    rprivate. Missing mount points are created (a file when a bind source is a
    file). Returns the host paths created inside the rootfs, deepest last; pass
    `created` to have them appended as they are made (kept on an exception).
    `cgroup_mount(kernel, log, rootfs, dest, opts)` replaces the default handling of
    `type: cgroup` (an rbind of the host's /sys/fs/cgroup). A proc or sysfs
    destination that is a symlink is refused; `trees` gets a checked fd of each
    procfs and sysfs mounted, for what is done in them after pivot_root.
    `mount_label` (SELinux) is given to the mounts runc labels (`lsm.mount_data`).
    """
    created = [] if created is None else created
    for m in mounts:
        opts = check_mount(m)
        kind = m.type or ""
        is_bind = opts.bind or kind == "bind"
        if is_bind:
            source = os.path.join(bundle, m.source or "")  # absolute source stays as is
            try:
                is_dir = stat.S_ISDIR(kernel.stat(source).st_mode)
            except OSError as e:
                raise KernelError("stat", e.errno, source) from None
        else:
            source, is_dir = m.source or kind, True
        if kind in procfs.KINDS:
            procfs.check_destination(kernel, rootfs, m.destination, kind)
        made = kernel.ensure_mountpoint(rootfs, m.destination, directory=is_dir)
        created.extend(made)
        if kind == "tmpfs":
            opts = _tmpfs_mode(kernel, rootfs, m.destination, opts, existed=not made)
        if not is_bind and mount_label:
            from pyocijail.backends.linux import lsm  # (loaded by the plan, in R)

            opts = values.evolve(opts, data=lsm.mount_data(kind, opts.data, mount_label))
        if is_bind:
            opts = values.evolve(opts, flags=opts.flags | MS_BIND)  # type "bind" alone binds
            mountlib.bind(kernel, log, source, rootfs, m.destination, opts.flags, opts.clear)
        elif opts.tmpcopyup:
            _tmpfs_copyup(kernel, log, source, rootfs, m.destination, opts)
        elif kind == "cgroup":
            (cgroup_mount or _cgroup)(kernel, log, rootfs, m.destination, opts)
        else:
            _plain(kernel, log, source, rootfs, m.destination, kind, opts)
            if kind in procfs.KINDS and trees is not None:
                trees.keep(rootfs, m.destination, kind)
            if kind == "mqueue" and mount_label:  # runc: a file label, not context=
                fd = in_root(kernel, rootfs, m.destination, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    kernel.label_file(fd, mount_label)
                finally:
                    kernel.close(fd)
        for flag in opts.propagation:
            fd = in_root(kernel, rootfs, m.destination)
            try:
                mountlib.mount(kernel, log, None, fd_path(fd), None, flag, None, m.destination)
            finally:
                kernel.close(fd)
        failpoint("create.linux.after-mount")
    return created
