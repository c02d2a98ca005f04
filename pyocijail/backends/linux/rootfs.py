"""Devices, pivot_root and the post-pivot steps (sysctl; masked and read-only paths
are in `masks`).

Split from `mounts` only to keep modules small; `mounts.setup_devices` etc.
resolve here. See `mounts` for the order in which the init process calls them.
"""

from __future__ import annotations

import errno
import os
import stat

from pyocijail import rootpath

# (masks: loaded with this module, so that `mounts.mask_paths` still resolves after
# pivot_root, when the package is out of reach)
from pyocijail.backends.linux import libc, masks, procfs  # noqa: F401
from pyocijail.backends.linux.cgroups import unescape
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


class _Dir:
    """A directory inside the rootfs, resolved and opened once for all the nodes
    and links made in it (/dev, mostly): an fd from `open_in_root` and its host
    path, for the undo list."""

    def __init__(self, rootfs: str, path: str, *, make: bool, created: list[str]) -> None:
        if make:
            created.extend(rootpath.ensure_mountpoint(rootfs, path, directory=True))
        self.fd = rootpath.open_in_root(rootfs, path, os.O_PATH | os.O_DIRECTORY)
        self.host = rootpath.resolve(rootfs, path)

    def close(self) -> None:
        os.close(self.fd)


def _parent_dirs(rootfs: str, paths: Iterable[str], *, make: bool,
                 created: list[str]) -> dict[str, _Dir | None]:
    """Each distinct parent of `paths`, opened once; None for a missing one when
    not `make` (its links are skipped)."""
    dirs: dict[str, _Dir | None] = {}
    try:
        for path in paths:
            parent = os.path.dirname(path)
            if parent in dirs:
                continue
            try:
                dirs[parent] = _Dir(rootfs, parent, make=make, created=created)
            except KernelError as e:
                if make or e.errno != errno.ENOENT:
                    raise
                dirs[parent] = None
    except BaseException:
        _close_all(dirs)
        raise
    return dirs


def _close_all(dirs: Mapping[str, _Dir | None]) -> None:
    for d in dirs.values():
        if d is not None:
            d.close()


def _device(log, rootfs: str, parent: _Dir, path: str, kind: str, rdev: int, mode: int,
            uid: int, gid: int, created: list[str]) -> None:
    """One node in `parent` (the umask is 0 meanwhile)."""
    name = os.path.basename(path)
    try:
        try:
            st = os.stat(name, dir_fd=parent.fd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_IFMT(st.st_mode) == _KINDS[kind] and (kind == "p" or st.st_rdev == rdev):
                # The device itself (from the image, or /dev is a bind mount
                # of the host's): kept, as runc.
                if log is not None:
                    log.debug(f"device {path} exists, kept")
                return
            # Anything else (a symlink, a file, other numbers) is replaced:
            # runc keeps it, and a /dev/null that is not 1:3 would then be
            # bound over every masked path (CVE-2025-31133).
            if log is not None:
                log.debug(f"device {path} is not the one configured, replaced")
            if stat.S_ISDIR(st.st_mode):
                os.rmdir(name, dir_fd=parent.fd)
            else:
                os.unlink(name, dir_fd=parent.fd)
        if log is not None:
            log.debug(f"mknod {path} {kind} {os.major(rdev)}:{os.minor(rdev)} {mode:#o}")
        try:
            os.mknod(name, _KINDS[kind] | mode, rdev, dir_fd=parent.fd)
            bind = False
        except PermissionError:
            # No CAP_MKNOD (user namespace): bind the host's node onto a file.
            fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0, dir_fd=parent.fd)
            os.close(fd)
            bind = True
        created.append(f"{parent.host}/{name}")
        if bind:
            fd = rootpath.open_in_root(rootfs, path, os.O_PATH)
            try:
                _mount(log, path, _fd(fd), None, MS_BIND, None, path)
            finally:
                os.close(fd)
        else:
            os.chown(name, uid, gid, dir_fd=parent.fd, follow_symlinks=False)
    except OSError as e:
        raise KernelError("mknod", e.errno, path) from None


def _symlink(log, parent: _Dir, path: str, target: str, replace: bool,
             created: list[str]) -> None:
    name = os.path.basename(path)
    try:
        if _exists(name, parent.fd):
            st = os.stat(name, dir_fd=parent.fd, follow_symlinks=False)
            if not replace or stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode):
                return
            os.unlink(name, dir_fd=parent.fd)
        if log is not None:
            log.debug(f"symlink {path} -> {target}")
        os.symlink(target, name, dir_fd=parent.fd)
        created.append(f"{parent.host}/{name}")
    except OSError as e:
        raise KernelError("symlink", e.errno, path) from None


def setup_devices(rootfs: str, devices: Sequence[model.Device], *, default: bool = True,
                  log=None) -> list[str]:
    """Create device nodes and the standard /dev symlinks (before pivot_root).

    `default` adds runc's default set (null, zero, full, random, urandom, tty;
    /dev/ptmx -> pts/ptmx; fd, stdin, stdout, stderr, and core when the host
    has /proc/kcore). A path that already is that device is kept, so a config
    that bind-mounts /dev (or a single device) wins; anything else there (a
    symlink, a file, a node with other numbers) is replaced. Entries of `devices` with the
    same path as a default replace it. Each parent directory is made, resolved
    and opened once. Returns the host paths created.
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
    dirs = _parent_dirs(rootfs, wanted, make=True, created=created)
    old = os.umask(0)
    try:
        for path, (kind, rdev, mode, uid, gid) in wanted.items():
            parent = dirs[os.path.dirname(path)]
            assert parent is not None  # (made above)
            _device(log, rootfs, parent, path, kind, rdev, mode, uid, gid, created)
    finally:
        os.umask(old)
        _close_all(dirs)
    if default:
        links = [(path, target, False) for path, target in _DEFAULT_LINKS]
        if os.path.exists("/proc/kcore"):
            links.append(("/dev/core", "/proc/kcore", False))
        # The image's (or a copied host's) ptmx would be the host's instance;
        # the container's devpts is mounted with newinstance.
        links.append(("/dev/ptmx", "pts/ptmx", True))
        dirs = _parent_dirs(rootfs, (path for path, _, _ in links), make=False,
                            created=created)
        try:
            for path, target, replace in links:
                parent = dirs[os.path.dirname(path)]
                if parent is not None:  # no /dev (a file there, say): no links
                    _symlink(log, parent, path, target, replace, created)
        finally:
            _close_all(dirs)
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
    submount left shared with the host would carry our mounts back to it; and
    "unbindable" makes "/" rslave here, the container's root unbindable only
    after pivot_root (`make_root_unbindable`): runc makes the host's tree
    unbindable, and then cannot bind the rootfs (its create fails, EINVAL)."""
    if propagation is not None and propagation not in _ROOT_PROPAGATION:
        raise ConfigError(f"unknown rootfsPropagation {propagation!r}")
    if propagation in ("unbindable", "runbindable"):
        propagation = "rslave"
    _mount(log, None, "/", None, _ROOT_PROPAGATION[propagation or "rslave"] | MS_REC, None, "/")


def _parent_mount(path: str) -> tuple[str, list[str]]:
    """The mount `path` is on (the longest mount point that contains it, the
    top one of a stack) and its propagation fields (`shared:N`, `unbindable`...)."""
    best, fields = "/", []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            parts = line.split(" ")
            point = unescape(parts[4])
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, fields = point, parts[6:parts.index("-")]
    return best, fields


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
    parent, fields = _parent_mount(real)
    if any(f.startswith("shared:") or f == "unbindable" for f in fields):
        _mount(log, None, parent, None, MS_PRIVATE, None, parent)
    _mount(log, real, real, None, MS_BIND | MS_REC, None, real)


def pivot_root(rootfs: str, *, bound: bool = False, log=None) -> None:
    """Make `rootfs` the root of this mount namespace and drop the old root.

    Call in the container's own mount namespace after mount_all/setup_devices.
    The old root is made rslave before the lazy unmount, so the detach cannot
    propagate to the host's mounts. Leaves the cwd at the new "/". `bound`:
    `bind_rootfs` made the rootfs a mount point (else it is bound here if needed).
    """
    real = os.path.realpath(rootfs)
    if not bound and real not in {point for _i, _p, point, _o in mountinfo()}:
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


def make_root_unbindable(*, log=None) -> None:
    """`rootfsPropagation: unbindable`, last (read-only paths bind first): the
    container's "/" and its submounts can no longer be bound."""
    _mount(log, None, "/", None, MS_UNBINDABLE | MS_REC, None, "/")


def remount_readonly_root(*, log=None) -> None:
    """`root.readonly`: make "/" read-only (after pivot_root), keeping its other flags."""
    _remount_bind(log, "/", MS_RDONLY, 0, "/")


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


def apply_sysctl(sysctl: Mapping[str, str], *, log=None,
                 trees: procfs.Trees | None = None) -> None:
    """Write each value to /proc/sys/<key with dots as slashes> (after pivot_root),
    through the procfs this init mounted (`procfs.open_proc`), no link followed."""
    check_sysctl(sysctl)
    proc = procfs.open_proc(trees)
    try:
        for key, value in sysctl.items():
            if log is not None:
                log.debug(f"sysctl {key}={value}")
            try:
                fd = procfs.open_beneath(proc, "sys/" + key.replace(".", "/"),
                                         os.O_WRONLY | os.O_TRUNC)
                try:
                    os.write(fd, str(value).encode())
                finally:
                    os.close(fd)
            except OSError as e:
                raise KernelError("sysctl", e.errno, key) from None
            except KernelError as e:
                raise KernelError("sysctl", e.errno, key) from None
    finally:
        os.close(proc)
