"""Devices, pivot_root and the post-pivot steps (masked/read-only paths, sysctl).

Split from `mounts` only to keep modules small; `mounts.setup_devices` etc.
resolve here. See `mounts` for the order in which the init process calls them.
"""

from __future__ import annotations

import errno
import os
import stat

from pyocijail import rootpath
from pyocijail.backends.linux import libc
from pyocijail.backends.linux.libc import (
    MNT_DETACH,
    MS_BIND,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_SHARED,
    MS_SLAVE,
    MS_UNBINDABLE,
)
from pyocijail.backends.linux.mounts import _fd, _mount, _remount_bind, mountinfo
from pyocijail.errors import ConfigError, KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pyocijail.spec import model

#: runc's default devices: (path, major, minor); all char devices, 0666, root-owned.
DEFAULT_DEVICES = (("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
                   ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0))
_DEFAULT_LINKS = (("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"),
                  ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2"))
_KINDS = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


# --- devices -------------------------------------------------------------------------

def _exists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _device(log, rootfs: str, path: str, kind: str, rdev: int, mode: int, uid: int,
            gid: int, created: list[str]) -> None:
    parent, name = os.path.split(os.path.normpath("/" + path))
    created.extend(rootpath.make_mountpoint(rootfs, parent, directory=True)[1])
    pfd = rootpath.open_in_root(rootfs, parent, os.O_PATH | os.O_DIRECTORY)
    try:
        if _exists(name, pfd):
            # Already there: from the image, or /dev is a bind mount of the
            # host's. runc also keeps an existing node (it ignores EEXIST).
            if log is not None:
                log.debug(f"device {path} exists, kept")
            return
        if log is not None:
            log.debug(f"mknod {path} {kind} {os.major(rdev)}:{os.minor(rdev)} {mode:#o}")
        old = os.umask(0)
        try:
            os.mknod(name, _KINDS[kind] | mode, rdev, dir_fd=pfd)
            bind = False
        except PermissionError:
            # No CAP_MKNOD (user namespace): bind the host's node onto a file.
            fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0, dir_fd=pfd)
            os.close(fd)
            bind = True
        finally:
            os.umask(old)
        created.append(rootpath.resolve(rootfs, path))
        if bind:
            fd = rootpath.open_in_root(rootfs, path, os.O_PATH)
            try:
                _mount(log, path, _fd(fd), None, MS_BIND, None, path)
            finally:
                os.close(fd)
        else:
            os.chown(name, uid, gid, dir_fd=pfd, follow_symlinks=False)
    except OSError as e:
        raise KernelError("mknod", e.errno, path) from None
    finally:
        os.close(pfd)


def _symlink(log, rootfs: str, path: str, target: str, replace: bool,
             created: list[str]) -> None:
    parent, name = os.path.split(path)
    try:
        pfd = rootpath.open_in_root(rootfs, parent, os.O_PATH | os.O_DIRECTORY)
    except KernelError as e:
        if e.errno == errno.ENOENT:
            return
        raise
    try:
        if _exists(name, pfd):
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
            if not replace or stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode):
                return
            os.unlink(name, dir_fd=pfd)
        if log is not None:
            log.debug(f"symlink {path} -> {target}")
        os.symlink(target, name, dir_fd=pfd)
        created.append(rootpath.resolve(rootfs, parent) + "/" + name)
    except OSError as e:
        raise KernelError("symlink", e.errno, path) from None
    finally:
        os.close(pfd)


def setup_devices(rootfs: str, devices: Sequence[model.Device], *, default: bool = True,
                  log=None) -> list[str]:
    """Create device nodes and the standard /dev symlinks (before pivot_root).

    `default` adds runc's default set (null, zero, full, random, urandom, tty;
    /dev/ptmx -> pts/ptmx; fd, stdin, stdout, stderr, and core when the host
    has /proc/kcore). A path that already exists is kept, so a config that
    bind-mounts /dev (or a single device) wins. Entries of `devices` with the
    same path as a default replace it. Returns the host paths created.
    """
    wanted: dict[str, tuple[str, int, int, int, int]] = {}
    if default:
        for path, major, minor in DEFAULT_DEVICES:
            wanted[path] = ("c", os.makedev(major, minor), 0o666, 0, 0)
    for d in devices:
        if d.type not in _KINDS:
            raise ConfigError(f"device {d.path}: unknown type {d.type!r}")
        if d.type != "p" and (d.major is None or d.minor is None):
            raise ConfigError(f"device {d.path}: type {d.type} needs major and minor")
        if not os.path.isabs(d.path) or ".." in d.path.split("/"):
            raise ConfigError(f"device {d.path}: path must be absolute, without '..'")
        rdev = os.makedev(d.major or 0, d.minor or 0)
        mode = 0o666 if d.file_mode is None else d.file_mode & 0o7777
        wanted[os.path.normpath(d.path)] = (d.type, rdev, mode, d.uid or 0, d.gid or 0)
    created: list[str] = []
    for path, (kind, rdev, mode, uid, gid) in wanted.items():
        _device(log, rootfs, path, kind, rdev, mode, uid, gid, created)
    if default:
        links = list(_DEFAULT_LINKS)
        if os.path.exists("/proc/kcore"):
            links.append(("/dev/core", "/proc/kcore"))
        for path, target in links:
            _symlink(log, rootfs, path, target, False, created)
        # The image's (or a copied host's) ptmx would be the host's instance;
        # the container's devpts is mounted with newinstance.
        _symlink(log, rootfs, "/dev/ptmx", "pts/ptmx", True, created)
    return created


# --- pivot_root ----------------------------------------------------------------------

_ROOT_PROPAGATION = {"private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
                     "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
                     "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC,
                     "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC}


def set_root_propagation(propagation: str | None = None, *, log=None) -> None:
    """First step after unshare(CLONE_NEWNS): change "/" recursively to
    `linux.rootfsPropagation` (default rslave, as runc), so that nothing
    mounted from now on propagates back to the host. Diverges from runc: the
    change is always recursive ("private" acts as "rprivate"), since a
    submount left shared with the host would carry our mounts back to it."""
    if propagation is not None and propagation not in _ROOT_PROPAGATION:
        raise ConfigError(f"unknown rootfsPropagation {propagation!r}")
    _mount(log, None, "/", None, _ROOT_PROPAGATION[propagation or "rslave"] | MS_REC, None, "/")


def bind_rootfs(rootfs: str, *, log=None) -> None:
    """Bind the rootfs onto itself, before anything is mounted in it.

    Needed with a user namespace: the rootfs mount (podman's overlay) was
    copied from the host's mount namespace into one owned by a less privileged
    user namespace, so the kernel locks it (MNT_LOCKED) and pivot_root refuses
    it with EINVAL; a bind made here is not locked. runc's prepareRoot does
    this for every container; without a user namespace it is not needed.
    """
    real = os.path.realpath(rootfs)
    _mount(log, real, real, None, MS_BIND | MS_REC, None, real)


def pivot_root(rootfs: str, *, log=None) -> None:
    """Make `rootfs` the root of this mount namespace and drop the old root.

    Call in the container's own mount namespace after mount_all/setup_devices.
    The old root is made rslave before the lazy unmount, so the detach cannot
    propagate to the host's mounts. Leaves the cwd at the new "/".
    """
    real = os.path.realpath(rootfs)
    if real not in {point for _i, _p, point, _o in mountinfo()}:
        # pivot_root(2) needs a mount point: bind the rootfs onto itself.
        _mount(log, real, real, None, MS_BIND | MS_REC, None, real)
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(real, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        if log is not None:
            log.debug(f"pivot_root {real}")
        libc.pivot_root(".", ".")
        # The old root is now stacked on "/"; our fd still names it.
        os.fchdir(old)
        _mount(log, None, ".", None, MS_SLAVE | MS_REC, None, "old root")
        if log is not None:
            log.debug("umount2 old root MNT_DETACH")
        libc.umount2(".", MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old)
        os.close(new)


def remount_readonly_root(*, log=None) -> None:
    """`root.readonly`: make "/" read-only (after pivot_root), keeping its other flags."""
    _remount_bind(log, "/", MS_RDONLY, 0, "/")


# --- after pivot --------------------------------------------------------------------

def _open_existing(path: str) -> int | None:
    try:
        return rootpath.open_in_root("/", path, os.O_PATH)
    except KernelError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def mask_paths(paths: Iterable[str], *, log=None) -> None:
    """Hide paths (after pivot_root): an empty read-only tmpfs over directories,
    /dev/null over anything else. Missing paths are skipped."""
    for path in paths:
        fd = _open_existing(path)
        if fd is None:
            continue
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                _mount(log, "tmpfs", _fd(fd), "tmpfs", MS_RDONLY, None, path)
            else:
                _mount(log, "/dev/null", _fd(fd), None, MS_BIND, None, path)
        finally:
            os.close(fd)


def readonly_paths(paths: Iterable[str], *, log=None) -> None:
    """Make paths read-only (after pivot_root): rbind onto itself, then remount
    the top mount ro keeping its flags (as runc: submounts stay as they are)."""
    for path in paths:
        fd = _open_existing(path)
        if fd is None:
            continue
        try:
            _mount(log, _fd(fd), _fd(fd), None, MS_BIND | MS_REC, None, path)
        finally:
            os.close(fd)
        fd = rootpath.open_in_root("/", path, os.O_PATH)  # now the new bind mount
        try:
            _remount_bind(log, _fd(fd), MS_RDONLY, 0, path)
        finally:
            os.close(fd)


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


def apply_sysctl(sysctl: Mapping[str, str], *, log=None) -> None:
    """Write each value to /proc/sys/<key with dots as slashes> (after pivot_root,
    with the container's /proc mounted)."""
    check_sysctl(sysctl)
    for key, value in sysctl.items():
        path = "/proc/sys/" + key.replace(".", "/")
        if log is not None:
            log.debug(f"sysctl {key}={value}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_TRUNC)
            try:
                os.write(fd, str(value).encode())
            finally:
                os.close(fd)
        except OSError as e:
            raise KernelError("sysctl", e.errno, key) from None
