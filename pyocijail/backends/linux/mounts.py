"""The container's mounts, before pivot_root (the init process, in its own
mount namespace). The order of the whole filesystem set-up:

    unshare(CLONE_NEWNS)                                    (the backend)
    mounts.set_root_propagation(...)                        first
    mounts.bind_rootfs(rootfs)                              before any mount in it
    mounts.mount_all(rootfs, spec.mounts, bundle)           before pivot
    devices.setup_devices(rootfs, linux.devices)            before pivot
    pivot.pivot_root(rootfs)
    pivot.apply_sysctl(...), pivot.readonly_paths(...), pivot.mask_paths(...)
    pivot.remount_readonly_root()                           last, if root.readonly
    pivot.make_root_unbindable()                            last, if asked

Options are parsed by `mountopts` (also at plan time), the primitives every
phase shares are `mountlib`. Every mount target is opened with
`rootpath.open_in_root` and mounted on `/proc/self/fd/N`, so a symlink swapped
into the rootfs between the check and the mount cannot send a mount outside
the rootfs. Mount point creation is race-free the same way
(`rootpath.make_mountpoint`). That `/proc` is the host's, before pivot_root;
after it nothing is reached through the container's `/proc` (`procfs`).
"""

from __future__ import annotations

import errno
import os
import stat

from pyocijail import rootpath, values
from pyocijail.backends.linux import libc, mountlib, procfs
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
    from collections.abc import Sequence

    from pyocijail.spec import model


# --- the root ---------------------------------------------------------------------------

_ROOT_PROPAGATION = {"private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
                     "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
                     "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC,
                     "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC}


def set_root_propagation(propagation: str | None = None, *, log=None) -> None:
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
    mountlib.mount(log, None, "/", None, flags, None, "/")


def bind_rootfs(rootfs: str, *, log=None) -> None:
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
    parent, fields = mountlib.parent_mount(real)
    if any(f.startswith("shared:") or f == "unbindable" for f in fields):
        mountlib.mount(log, None, parent, None, MS_PRIVATE, None, parent)
    mountlib.mount(log, real, real, None, MS_BIND | MS_REC, None, real)



# --- mount_all ------------------------------------------------------------------------

def _copy_tree(src: int, dst: int) -> None:
    """Copy a directory's content between two directory fds (for tmpcopyup):
    modes, owners, times, symlinks and device nodes; hard links become copies."""
    for entry in os.scandir(src):
        name, st = entry.name, entry.stat(follow_symlinks=False)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(name, 0o700, dir_fd=dst)
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            s, d = os.open(name, flags, dir_fd=src), os.open(name, flags, dir_fd=dst)
            try:
                _copy_tree(s, d)
                os.fchown(d, st.st_uid, st.st_gid)
                os.fchmod(d, stat.S_IMODE(mode))
            finally:
                os.close(s)
                os.close(d)
        elif stat.S_ISREG(mode):
            s = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src)
            d = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                        | os.O_CLOEXEC, 0o600, dir_fd=dst)
            try:
                while os.sendfile(d, s, None, 1 << 30) > 0:
                    pass
                os.fchown(d, st.st_uid, st.st_gid)
                os.fchmod(d, stat.S_IMODE(mode))
            finally:
                os.close(s)
                os.close(d)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
        else:  # device, fifo, socket
            os.mknod(name, mode, st.st_rdev, dir_fd=dst)
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst, follow_symlinks=False)


def _tmpfs_copyup(log, source: str, rootfs: str, dest: str, opts: MountOptions) -> None:
    """Mount a tmpfs over `dest` holding a copy of what it covers.

    Diverges from runc (which mounts in a temporary dir and moves it): we keep
    an fd of the covered directory open, so no temporary mount point is needed.
    runc does not chown the tmpfs; here it keeps the covered directory's owner.
    The tmpfs is mounted writable and made read-only after the copy if asked.
    """
    lower = in_root(rootfs, dest, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = in_root(rootfs, dest)
        try:
            mountlib.mount(log, source, fd_path(fd), "tmpfs", opts.flags & ~MS_RDONLY,
                           opts.data, dest)
        finally:
            os.close(fd)
        upper = in_root(rootfs, dest, os.O_RDONLY | os.O_DIRECTORY)
        try:
            st = os.fstat(lower)
            os.fchown(upper, st.st_uid, st.st_gid)  # (the mode: `_tmpfs_mode`)
            if log is not None:
                log.debug(f"tmpcopyup {dest}")
            _copy_tree(lower, upper)
            if opts.readonly:
                mountlib.mount(log, None, fd_path(upper), None, opts.flags | MS_REMOUNT,
                               opts.data, dest)
        finally:
            os.close(upper)
    finally:
        os.close(lower)


def _cgroup(log, rootfs: str, dest: str, opts: MountOptions) -> None:
    """`type: cgroup` on this cgroup v1/v2 hybrid: rbind the host's /sys/fs/cgroup.

    runc instead mounts a tmpfs and binds the container's own sub-hierarchy of
    each controller; here the whole host tree is visible (read-only when the
    config says ro, which podman does) until a cgroup namespace implementation
    lands. Flags go to every submount, since each controller is its own mount.
    """
    mountlib.bind(log, "/sys/fs/cgroup", rootfs, dest, opts.flags | MS_BIND | MS_REC,
                  opts.clear)
    extra = opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)
    if not (extra or opts.clear):
        return
    top = rootpath.resolve(rootfs, dest)
    for _id, _parent, point, _opts in mountlib.mountinfo():
        if point.startswith(top + "/"):
            mountlib.remount_bind(log, point, extra, opts.clear, dest + point[len(top):])


def _plain(log, source: str, rootfs: str, dest: str, kind: str, opts: MountOptions) -> None:
    """Any other filesystem type: one mount(2) with the flags and data."""
    data = opts.data
    if kind == "devpts":  # a private pty instance, usable by non-root users (as runc)
        words = data.split(",") if data else []
        given = {w.split("=")[0] for w in words}
        words += [w for w in ("newinstance", "ptmxmode=0666") if w.split("=")[0] not in given]
        data = ",".join(words)
    fd = in_root(rootfs, dest)
    try:
        mountlib.mount(log, source, fd_path(fd), kind, opts.flags, data, dest)
    except KernelError as e:
        # Without its own network namespace (in a userns) the kernel refuses a
        # fresh sysfs, and cgroup2 may be refused too: show the host's, like runc
        # does for sysfs.
        if e.errno not in (errno.EPERM, errno.EBUSY) or kind not in ("sysfs", "cgroup2"):
            raise
        host = "/sys" if kind == "sysfs" else "/sys/fs/cgroup/unified"
        mountlib.bind(log, host, rootfs, dest, opts.flags | MS_BIND | MS_REC, opts.clear)
    finally:
        os.close(fd)


def _tmpfs_mode(rootfs: str, dest: str, opts: MountOptions, *, existed: bool) -> MountOptions:
    """As runc: a tmpfs over a directory the image has takes its mode (a `mode=`
    in the options still wins, coming later); on a mount point made just now it
    keeps tmpfs's own 1777, so any user may write there (`--tmpfs /x`, podman's
    `--read-only` /run and /var/tmp on an image that lacks them)."""
    if not existed:
        return opts
    fd = in_root(rootfs, dest)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    data = f"mode={mode:04o}" + (f",{opts.data}" if opts.data else "")
    return values.evolve(opts, data=data)


def mount_all(rootfs: str, mounts: Sequence[model.Mount], bundle: str, *, log=None,
              created: list[str] | None = None, cgroup_mount=None,
              trees: procfs.Trees | None = None,
              mount_label: str | None = None) -> list[str]:
    """Mount every entry of `mounts`, in order, under `rootfs` (before pivot_root).

    Call in the container's own mount namespace with "/" already rslave or
    rprivate. Missing mount points are created (a file when a bind source is a
    file). Returns the host paths created inside the rootfs, deepest last; pass
    `created` to have them appended as they are made (kept on an exception).
    `cgroup_mount(log, rootfs, dest, opts)` replaces the default handling of
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
                is_dir = stat.S_ISDIR(os.stat(source).st_mode)
            except OSError as e:
                raise KernelError("stat", e.errno, source) from None
        else:
            source, is_dir = m.source or kind, True
        if kind in procfs.KINDS:
            procfs.check_destination(rootfs, m.destination, kind)
        made = rootpath.ensure_mountpoint(rootfs, m.destination, directory=is_dir,
                                         opener=libc.open_in_root)
        created.extend(made)
        if kind == "tmpfs":
            opts = _tmpfs_mode(rootfs, m.destination, opts, existed=not made)
        if not is_bind and mount_label:
            from pyocijail.backends.linux import lsm  # (loaded by the plan, in R)

            opts = values.evolve(opts, data=lsm.mount_data(kind, opts.data, mount_label))
        if is_bind:
            opts = values.evolve(opts, flags=opts.flags | MS_BIND)  # type "bind" alone binds
            mountlib.bind(log, source, rootfs, m.destination, opts.flags, opts.clear)
        elif opts.tmpcopyup:
            _tmpfs_copyup(log, source, rootfs, m.destination, opts)
        elif kind == "cgroup":
            (cgroup_mount or _cgroup)(log, rootfs, m.destination, opts)
        else:
            _plain(log, source, rootfs, m.destination, kind, opts)
            if kind in procfs.KINDS and trees is not None:
                trees.keep(rootfs, m.destination, kind)
            if kind == "mqueue" and mount_label:  # runc: a file label, not context=
                from pyocijail.backends.linux import lsm

                fd = in_root(rootfs, m.destination, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    lsm.label_file(fd, mount_label)
                finally:
                    os.close(fd)
        for flag in opts.propagation:
            fd = in_root(rootfs, m.destination)
            try:
                mountlib.mount(log, None, fd_path(fd), None, flag, None, m.destination)
            finally:
                os.close(fd)
        failpoint("create.linux.after-mount")
    return created
