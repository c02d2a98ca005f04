"""Device nodes and the standard /dev links in the rootfs (before pivot_root).

runc's default devices and `linux.devices`; a node that is not the device
configured is replaced, since a /dev/null that is not 1:3 would be bound over
every masked path (CVE-2025-31133; `pivot.mask_paths` checks it again).
Every kernel call goes through the `kernel.NsKernel` passed in first.
"""

from __future__ import annotations

import errno
import os
import stat

from pyocijail.backends.linux import mountlib
from pyocijail.backends.linux.libc import MS_BIND
from pyocijail.backends.linux.mountlib import fd_path
from pyocijail.errors import ConfigError, KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

    from pyocijail.backends.linux.kernel import NsKernel
    from pyocijail.spec import model

#: runc's default devices: (path, major, minor); all char devices, 0666, root-owned.
DEFAULT_DEVICES = (("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
                   ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0))
_DEFAULT_LINKS = (("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"),
                  ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2"))
_KINDS = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def _exists(kernel: NsKernel, name: str, dir_fd: int) -> bool:
    try:
        kernel.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _host_has(kernel: NsKernel, path: str) -> bool:
    """os.path.exists through the kernel: any error is "no"."""
    try:
        kernel.stat(path)
    except OSError:
        return False
    return True


class _Dir:
    """A directory inside the rootfs, resolved and opened once for all the nodes
    and links made in it (/dev, mostly): an fd from `open_in_root` and its host
    path, for the undo list."""

    def __init__(self, kernel: NsKernel, rootfs: str, path: str, *, make: bool,
                 created: list[str]) -> None:
        self.kernel = kernel
        if make:
            created.extend(kernel.ensure_mountpoint(rootfs, path, directory=True))
        self.fd = kernel.open_in_root(rootfs, path, os.O_PATH | os.O_DIRECTORY)
        self.host = kernel.resolve_in_root(rootfs, path)

    def close(self) -> None:
        self.kernel.close(self.fd)


def _parent_dirs(kernel: NsKernel, rootfs: str, paths: Iterable[str], *, make: bool,
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
                dirs[parent] = _Dir(kernel, rootfs, parent, make=make, created=created)
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


def _device(kernel: NsKernel, log: Any, rootfs: str, parent: _Dir, path: str, kind: str,
            rdev: int, mode: int, uid: int, gid: int, created: list[str]) -> None:
    """One node in `parent` (the umask is 0 meanwhile)."""
    name = os.path.basename(path)
    try:
        try:
            st = kernel.stat(name, dir_fd=parent.fd, follow_symlinks=False)
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
                kernel.rmdir(name, dir_fd=parent.fd)
            else:
                kernel.unlink(name, dir_fd=parent.fd)
        if log is not None:
            log.debug(f"mknod {path} {kind} {os.major(rdev)}:{os.minor(rdev)} {mode:#o}")
        try:
            kernel.mknod(name, _KINDS[kind] | mode, rdev, dir_fd=parent.fd)
            bind = False
        except PermissionError:
            # No CAP_MKNOD (user namespace): bind the host's node onto a file.
            fd = kernel.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0, dir_fd=parent.fd)
            kernel.close(fd)
            bind = True
        created.append(f"{parent.host}/{name}")
        if bind:
            fd = kernel.open_in_root(rootfs, path, os.O_PATH)
            try:
                mountlib.mount(kernel, log, path, fd_path(fd), None, MS_BIND, None, path)
            finally:
                kernel.close(fd)
        else:
            kernel.chown(name, uid, gid, dir_fd=parent.fd)
    except OSError as e:
        raise KernelError("mknod", e.errno, path) from None


def _symlink(kernel: NsKernel, log: Any, parent: _Dir, path: str, target: str, replace: bool,
             created: list[str]) -> None:
    name = os.path.basename(path)
    try:
        if _exists(kernel, name, parent.fd):
            st = kernel.stat(name, dir_fd=parent.fd, follow_symlinks=False)
            if not replace or stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode):
                return
            kernel.unlink(name, dir_fd=parent.fd)
        if log is not None:
            log.debug(f"symlink {path} -> {target}")
        kernel.symlink(target, name, dir_fd=parent.fd)
        created.append(f"{parent.host}/{name}")
    except OSError as e:
        raise KernelError("symlink", e.errno, path) from None


def setup_devices(kernel: NsKernel, rootfs: str, devices: Sequence[model.Device], *,
                  default: bool = True, log: Any = None) -> list[str]:
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
    dirs = _parent_dirs(kernel, rootfs, wanted, make=True, created=created)
    old = kernel.umask(0)
    try:
        for path, (kind, rdev, mode, uid, gid) in wanted.items():
            parent = dirs[os.path.dirname(path)]
            assert parent is not None  # (made above)
            _device(kernel, log, rootfs, parent, path, kind, rdev, mode, uid, gid, created)
    finally:
        kernel.umask(old)
        _close_all(dirs)
    if default:
        links = [(path, target, False) for path, target in _DEFAULT_LINKS]
        if _host_has(kernel, "/proc/kcore"):
            links.append(("/dev/core", "/proc/kcore", False))
        # The image's (or a copied host's) ptmx would be the host's instance;
        # the container's devpts is mounted with newinstance.
        links.append(("/dev/ptmx", "pts/ptmx", True))
        dirs = _parent_dirs(kernel, rootfs, (path for path, _, _ in links), make=False,
                            created=created)
        try:
            for path, target, replace in links:
                parent = dirs[os.path.dirname(path)]
                if parent is not None:  # no /dev (a file there, say): no links
                    _symlink(kernel, log, parent, path, target, replace, created)
        finally:
            _close_all(dirs)
    return created
