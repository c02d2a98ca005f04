"""`RecordingNsKernel`: an in-memory `backends.linux.kernel.NsKernel` that records
every call, so the Linux backend's mount, device, pivot and namespace steps
are tested without root (tests/unit/linux/test_*_recorded.py).

- One ordered log, `calls`: `(name, args)` per call, the arguments as passed
  (keyword ones in the Protocol's order). `trace()` is the same log with each
  fd, and each `/proc/self/fd/N` path, replaced by what the fd was opened on.
- `fail_next(name, errno)`: the next call of `name` is logged and then fails
  with the error the real kernel (`linuxkernel.LinuxKernel`) gives: a
  `KernelError(op, errno, path)` for the calls `libc` wraps, an `OSError`
  (`PermissionError`, `FileNotFoundError`... by errno) for the ones `os` has.
- Simple answers: a tree of host paths (`add_dir`, `add_file`, `add_device`,
  `add_link`) that opens, stats, mknod, symlink, unlink and mount points read
  and change; `mountinfo` lines; `mount_flags` per host path. Paths are taken
  lexically (no link is followed on the way).
- The checked procfs/sysfs fds (`procfs`): `openat2` walks that tree as
  Linux's RESOLVE_IN_ROOT, RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS and
  RESOLVE_NO_XDEV do (openat2(2); `other_mounts`: the host paths where another
  mount starts); `fstatfs_type` answers the magic of the filesystem a path is
  on (`fs_types`: the host's /proc and /sys, then what `mount` put there, a
  fresh proc or sysfs or a bind's source's). `write` keeps what was written
  (`written`, per host path), `label_file` the labels (`labels`),
  `loopback_up` sets `lo_up`; `list_symlinks` lists the links `add_link` made.
- Strict: an argument of the wrong type, an fd that is not open (or not a
  detached mount where one is needed), a call on a missing parent, or anything
  the double does not model raises `UnexpectedCall` instead of passing.
"""

from __future__ import annotations

import errno as errnos
import os
import posixpath
import stat

from pyocijail.errors import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

#: What the root mount looks like to `mountinfo` unless a test says otherwise.
ROOT_MOUNTINFO = "1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw"

# <linux/openat2.h> RESOLVE_*, <linux/mount.h> MS_*, <linux/magic.h> (not from
# `libc`, which loads ctypes)
RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS = 0x01, 0x02, 0x04
RESOLVE_BENEATH, RESOLVE_IN_ROOT = 0x08, 0x10
_MS_REMOUNT, _MS_BIND = 0x20, 0x1000
EXT4_SUPER_MAGIC = 0xEF53
#: f_type of a fresh mount of each filesystem type (the others: unknown, 0).
FS_MAGIC = {"proc": 0x9FA0, "sysfs": 0x62656572, "tmpfs": 0x01021994, "mqueue": 0x19800202,
            "devpts": 0x1CD1, "cgroup2": 0x63677270}

#: Calls that `libc` wraps: they fail with KernelError(op, errno, args[path index]).
_KERNEL_ERRORS: dict[str, tuple[str, int | None]] = {
    "unshare": ("unshare", None), "setns": ("setns", None),
    "sethostname": ("sethostname", None), "setdomainname": ("setdomainname", None),
    "mount": ("mount", 1), "umount2": ("umount", 0), "pivot_root": ("pivot_root", 0),
    "mount_flags_of": ("statvfs", 0), "open_tree": ("open_tree", None),
    "move_mount": ("move_mount", None), "mount_setattr": ("mount_setattr", None),
    "fsmount_new": ("fsopen", None), "open_in_root": ("openat2", 1),
    "resolve_in_root": ("resolve", 1), "openat2": ("openat2", 1),
    "fstatfs_type": ("fstatfs", None), "label_file": ("set SELinux label of mqueue", None),
    "loopback_up": ("bring up lo", None),
}
#: Calls that `os` makes: they fail with OSError(errno, strerror, args[path index]).
_OS_ERRORS: dict[str, int | None] = {
    "mountinfo": None, "ensure_mountpoint": 1, "copy_tree": None, "open": 0, "close": None,
    "fstat": None, "stat": 0, "mknod": 0, "symlink": 1, "chown": 0, "fchown": None,
    "unlink": 0, "rmdir": 0, "fchdir": None, "chdir": 0, "readlink": 0, "write": None,
    "dup": None, "list_symlinks": 0,
}
#: Which arguments are fds, for `trace` (dir_fd included: it is the last one).
_FD_ARGS: dict[str, tuple[int, ...]] = {
    "setns": (0,), "open_tree": (0,), "move_mount": (0, 1), "mount_setattr": (0,),
    "copy_tree": (0, 1), "open": (3,), "close": (0,), "fstat": (0,), "stat": (1,),
    "mknod": (3,), "symlink": (2,), "chown": (3,), "fchown": (0,), "unlink": (1,),
    "rmdir": (1,), "fchdir": (0,), "readlink": (1,), "write": (0,), "dup": (0,),
    "openat2": (0,), "fstatfs_type": (0,), "label_file": (0,),
}
_FD_PREFIX = "/proc/self/fd/"


class UnexpectedCall(AssertionError):
    """A call the code should not make, or one the double does not model."""


class _Entry:
    """One file of the in-memory tree: its type (stat.S_IFMT), rdev or link target, owner."""

    def __init__(self, fmt: int, rdev: int = 0, target: str = "", mode: int = 0o755) -> None:
        self.fmt, self.rdev, self.target, self.mode = fmt, rdev, target, mode
        self.uid = self.gid = 0

    def stat(self) -> os.stat_result:
        return os.stat_result((self.fmt | self.mode, 0, 0, 1, self.uid, self.gid, 0, 0, 0, 0),
                              {"st_rdev": self.rdev})


class RecordingNsKernel:
    def __init__(self, *, mountinfo: Sequence[str] = (ROOT_MOUNTINFO,)) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []
        self.files: dict[str, _Entry] = {"/": _Entry(stat.S_IFDIR)}
        self.mountinfo_lines = list(mountinfo)
        #: MS_* flags `mount_flags_of` answers, per host path (default 0).
        self.mount_flags: dict[str, int] = {}
        #: Filesystem magic per host path (the deepest one a path is under counts).
        self.fs_types: dict[str, int] = {"/": EXT4_SUPER_MAGIC, "/proc": FS_MAGIC["proc"],
                                         "/sys": FS_MAGIC["sysfs"]}
        #: Host paths where another mount starts, for RESOLVE_NO_XDEV.
        self.other_mounts: set[str] = set()
        self.written: dict[str, list[bytes]] = {}
        self.labels: dict[str, str] = {}
        self.lo_up = False
        self.cwd = "/"
        self.mask = 0o022
        self._failures: dict[str, list[int]] = {}
        self._next_fd = 100
        self._open: dict[int, str] = {}  # fd -> host path, or "" for a detached mount
        self._flags: dict[int, int] = {}  # fd -> its open flags
        self._names: dict[int, str] = {}  # every fd ever handed out -> what it names

    # --- set-up and reading, for tests -------------------------------------------------
    def add_dir(self, path: str) -> None:
        self._add(path, _Entry(stat.S_IFDIR))

    def add_file(self, path: str) -> None:
        self._add(path, _Entry(stat.S_IFREG, mode=0o644))

    def add_device(self, path: str, major: int, minor: int, *, block: bool = False) -> None:
        self._add(path, _Entry(stat.S_IFBLK if block else stat.S_IFCHR,
                               os.makedev(major, minor), mode=0o666))

    def add_link(self, path: str, target: str) -> None:
        self._add(path, _Entry(stat.S_IFLNK, target=target, mode=0o777))

    def _add(self, path: str, entry: _Entry) -> None:
        """Add `path`, and its missing parents as directories."""
        path = posixpath.normpath(path)
        parent = posixpath.dirname(path)
        if parent not in self.files:
            self.add_dir(parent)
        self.files[path] = entry

    def fail_next(self, name: str, errno: int) -> None:
        """Make the next call of `name` fail with `errno`, as the real kernel would."""
        if name not in _KERNEL_ERRORS and name not in _OS_ERRORS:
            raise UnexpectedCall(f"fail_next: {name!r} is not a call that can fail")
        self._failures.setdefault(name, []).append(errno)

    def names(self) -> list[str]:
        """The name of each call, in order."""
        return [name for name, _args in self.calls]

    def name_of(self, fd: int) -> str:
        """What an fd handed out by this kernel was opened on."""
        return self._names.get(fd, f"fd {fd}?")

    def trace(self) -> list[tuple[str, tuple[object, ...]]]:
        """`calls` with fds and /proc/self/fd/N paths replaced by what they name."""
        out = []
        for name, args in self.calls:
            shown = list(args)
            for i in _FD_ARGS.get(name, ()):
                fd = shown[i]
                if isinstance(fd, int):
                    shown[i] = self.name_of(fd)
            shown = [self._fd_path(a) if isinstance(a, str) else a for a in shown]
            out.append((name, tuple(shown)))
        return out

    def open_fds(self) -> list[str]:
        """What the fds still open name (a test ends with none)."""
        return [self._names[fd] for fd in self._open]

    # --- the machinery ------------------------------------------------------------------
    def _call(self, name: str, args: tuple[object, ...], types: tuple[object, ...]) -> None:
        """Log the call, check its shape, then fail it if `fail_next` asked."""
        self.calls.append((name, args))
        for i, (value, kind) in enumerate(zip(args, types, strict=True)):
            if not isinstance(value, kind):  # type: ignore[arg-type]
                raise UnexpectedCall(f"{name}: argument {i} is {value!r}, not {kind}")
        failures = self._failures.get(name)
        if failures:
            err = failures.pop(0)
            if name in _KERNEL_ERRORS:
                op, at = _KERNEL_ERRORS[name]
                path = args[at] if at is not None else None
                raise KernelError(op, err, path if isinstance(path, str) else None)
            at = _OS_ERRORS[name]
            raise OSError(err, os.strerror(err), args[at] if at is not None else None)

    def _fd_path(self, path: str) -> str:
        """`/proc/self/fd/N` of an fd this kernel handed out: the path it names."""
        number = path[len(_FD_PREFIX):]
        if path.startswith(_FD_PREFIX) and number.isdigit() and int(number) in self._names:
            return self._names[int(number)]
        return path

    def fs_type_of(self, host: str) -> int:
        """The magic of the filesystem the host path is on (the deepest `fs_types` entry)."""
        while host not in self.fs_types:
            host = posixpath.dirname(host)
        return self.fs_types[host]

    def _new_fd(self, host: str, name: str | None = None, flags: int = 0) -> int:
        fd, self._next_fd = self._next_fd, self._next_fd + 1
        self._open[fd] = host
        self._flags[fd] = flags
        self._names[fd] = name or host
        return fd

    def _file_fd(self, fd: int, call: str) -> str:
        """The host path an open fd of a file names."""
        host = self._open.get(fd)
        if host is None:
            raise UnexpectedCall(f"{call}: fd {fd} is not open")
        if host == "":
            raise UnexpectedCall(f"{call}: fd {fd} is a detached mount, not a file")
        return host

    def _tree_fd(self, fd: int, call: str) -> None:
        if self._open.get(fd) != "":
            raise UnexpectedCall(f"{call}: fd {fd} ({self.name_of(fd)}) is not a detached mount")

    def _at(self, path: str, dir_fd: int | None, call: str) -> str:
        """The host path of `path`, relative to `dir_fd` (or the cwd) unless absolute."""
        path = self._fd_path(path)
        if posixpath.isabs(path):
            return posixpath.normpath(path)
        base = self.cwd if dir_fd is None else self._file_fd(dir_fd, call)
        return posixpath.normpath(posixpath.join(base, path))

    def _entry(self, host: str, call: str) -> _Entry:
        entry = self.files.get(host)
        if entry is None:
            raise FileNotFoundError(errnos.ENOENT, os.strerror(errnos.ENOENT), host)
        return entry

    def _create(self, host: str, entry: _Entry, call: str) -> None:
        parent = self.files.get(posixpath.dirname(host))
        if parent is None or parent.fmt != stat.S_IFDIR:
            raise UnexpectedCall(f"{call}: {posixpath.dirname(host)} is not a directory here")
        if host in self.files:
            raise FileExistsError(errnos.EEXIST, os.strerror(errnos.EEXIST), host)
        self.files[host] = entry

    # --- NsKernel ----------------------------------------------------------------------
    def unshare(self, flags: int) -> None:
        self._call("unshare", (flags,), (int,))

    def setns(self, fd: int, nstype: int) -> None:
        self._call("setns", (fd, nstype), (int, int))
        self._file_fd(fd, "setns")

    def sethostname(self, name: str) -> None:
        self._call("sethostname", (name,), (str,))

    def setdomainname(self, name: str) -> None:
        self._call("setdomainname", (name,), (str,))

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None) -> None:
        self._call("mount", (source, target, fstype, flags, data),
                   (str | None, str, str | None, int, str | None))
        host = self._at(target, None, "mount")
        self._entry(host, "mount")  # (ENOENT if missing)
        if flags & _MS_REMOUNT:
            return
        if flags & _MS_BIND and source is not None:
            self.fs_types[host] = self.fs_type_of(self._at(source, None, "mount"))
        elif fstype is not None:
            self.fs_types[host] = FS_MAGIC.get(fstype, 0)

    def umount2(self, target: str, flags: int) -> None:
        self._call("umount2", (target, flags), (str, int))

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self._call("pivot_root", (new_root, put_old), (str, str))

    def mount_flags_of(self, path: str) -> int:
        self._call("mount_flags_of", (path,), (str,))
        return self.mount_flags.get(self._at(path, None, "mount_flags_of"), 0)

    def mountinfo(self) -> list[str]:
        self._call("mountinfo", (), ())
        return list(self.mountinfo_lines)

    def open_tree(self, fd: int, flags: int) -> int:
        self._call("open_tree", (fd, flags), (int, int))
        return self._new_fd("", f"clone of {self._file_fd(fd, 'open_tree')}")

    def move_mount(self, from_fd: int, to_fd: int) -> None:
        self._call("move_mount", (from_fd, to_fd), (int, int))
        self._tree_fd(from_fd, "move_mount")
        self._file_fd(to_fd, "move_mount")

    def mount_setattr(self, fd: int, attr_set: int) -> None:
        self._call("mount_setattr", (fd, attr_set), (int, int))
        self._tree_fd(fd, "mount_setattr")

    def fsmount_new(self, fstype: str, source: str, *, readonly: bool,
                    context: str | None) -> int:
        self._call("fsmount_new", (fstype, source, readonly, context),
                   (str, str, bool, str | None))
        return self._new_fd("", f"new {fstype}" + (" (ro)" if readonly else ""))

    def open_in_root(self, root: str, path: str, flags: int) -> int:
        self._call("open_in_root", (root, path, flags), (str, str, int))
        host = posixpath.normpath(posixpath.join(root, path.lstrip("/")))
        entry = self.files.get(host)
        if entry is None:
            raise KernelError("openat2", errnos.ENOENT, path)
        if entry.fmt == stat.S_IFLNK and not flags & os.O_NOFOLLOW:
            raise UnexpectedCall(f"open_in_root: {host} is a link (not followed here)")
        if flags & os.O_DIRECTORY and entry.fmt != stat.S_IFDIR:
            raise KernelError("openat2", errnos.ENOTDIR, path)
        return self._new_fd(host, flags=flags)

    def ensure_mountpoint(self, root: str, path: str, *, directory: bool) -> list[str]:
        self._call("ensure_mountpoint", (root, path, directory), (str, str, bool))
        host = posixpath.normpath(posixpath.join(root, path.lstrip("/")))
        entry = self.files.get(host)
        if entry is not None:
            if (entry.fmt == stat.S_IFDIR) != directory:
                raise UnexpectedCall(f"ensure_mountpoint: {host} is there, of another kind")
            return []
        made = []
        parts = host.split("/")
        for depth in range(2, len(parts) + 1):
            step = "/".join(parts[:depth])
            if step not in self.files:
                last = depth == len(parts)
                fmt = stat.S_IFDIR if directory or not last else stat.S_IFREG
                self._create(step, _Entry(fmt), "ensure_mountpoint")
                made.append(step)
        return made

    def copy_tree(self, src: int, dst: int) -> None:
        self._call("copy_tree", (src, dst), (int, int))
        self._file_fd(src, "copy_tree")
        self._file_fd(dst, "copy_tree")

    def open(self, path: str, flags: int, mode: int = 0o777, *,
             dir_fd: int | None = None) -> int:
        self._call("open", (path, flags, mode, dir_fd), (str, int, int, int | None))
        host = self._at(path, dir_fd, "open")
        if flags & os.O_CREAT:
            if host in self.files and not flags & os.O_EXCL:
                return self._new_fd(host)
            self._create(host, _Entry(stat.S_IFREG, mode=mode & ~self.mask), "open")
        else:
            self._entry(host, "open")
        return self._new_fd(host, flags=flags)

    def close(self, fd: int) -> None:
        self._call("close", (fd,), (int,))
        if fd not in self._open:
            raise UnexpectedCall(f"close: fd {fd} is not open")
        del self._open[fd]

    def fstat(self, fd: int) -> os.stat_result:
        self._call("fstat", (fd,), (int,))
        return self._entry(self._file_fd(fd, "fstat"), "fstat").stat()

    def stat(self, path: str, *, dir_fd: int | None = None,
             follow_symlinks: bool = True) -> os.stat_result:
        self._call("stat", (path, dir_fd, follow_symlinks), (str, int | None, bool))
        host = self._at(path, dir_fd, "stat")
        entry = self._entry(host, "stat")
        if follow_symlinks and entry.fmt == stat.S_IFLNK:
            entry = self._entry(self._at(entry.target, None, "stat")
                                if entry.target.startswith("/")
                                else posixpath.join(posixpath.dirname(host), entry.target),
                                "stat")
        return entry.stat()

    def mknod(self, name: str, mode: int, device: int, *, dir_fd: int) -> None:
        self._call("mknod", (name, mode, device, dir_fd), (str, int, int, int))
        self._create(self._at(name, dir_fd, "mknod"),
                     _Entry(stat.S_IFMT(mode), device, mode=stat.S_IMODE(mode) & ~self.mask),
                     "mknod")

    def symlink(self, target: str, name: str, *, dir_fd: int) -> None:
        self._call("symlink", (target, name, dir_fd), (str, str, int))
        self._create(self._at(name, dir_fd, "symlink"), _Entry(stat.S_IFLNK, target=target),
                     "symlink")

    def chown(self, name: str, uid: int, gid: int, *, dir_fd: int) -> None:
        self._call("chown", (name, uid, gid, dir_fd), (str, int, int, int))
        entry = self._entry(self._at(name, dir_fd, "chown"), "chown")
        entry.uid, entry.gid = uid, gid

    def fchown(self, fd: int, uid: int, gid: int) -> None:
        self._call("fchown", (fd, uid, gid), (int, int, int))
        entry = self._entry(self._file_fd(fd, "fchown"), "fchown")
        entry.uid, entry.gid = uid, gid

    def unlink(self, name: str, *, dir_fd: int) -> None:
        self._call("unlink", (name, dir_fd), (str, int))
        host = self._at(name, dir_fd, "unlink")
        if self._entry(host, "unlink").fmt == stat.S_IFDIR:
            raise IsADirectoryError(errnos.EISDIR, os.strerror(errnos.EISDIR), name)
        del self.files[host]

    def rmdir(self, name: str, *, dir_fd: int) -> None:
        self._call("rmdir", (name, dir_fd), (str, int))
        host = self._at(name, dir_fd, "rmdir")
        if self._entry(host, "rmdir").fmt != stat.S_IFDIR:
            raise NotADirectoryError(errnos.ENOTDIR, os.strerror(errnos.ENOTDIR), name)
        if any(p.startswith(host + "/") for p in self.files):
            raise UnexpectedCall(f"rmdir: {host} is not empty")
        del self.files[host]

    def umask(self, mask: int) -> int:
        self._call("umask", (mask,), (int,))
        old, self.mask = self.mask, mask
        return old

    def fchdir(self, fd: int) -> None:
        self._call("fchdir", (fd,), (int,))
        self.cwd = self._file_fd(fd, "fchdir")

    def chdir(self, path: str) -> None:
        self._call("chdir", (path,), (str,))
        host = self._at(path, None, "chdir")
        self._entry(host, "chdir")
        self.cwd = host

    def readlink(self, path: str, *, dir_fd: int | None = None) -> str:
        self._call("readlink", (path, dir_fd), (str, int | None))
        entry = self._entry(self._at(path, dir_fd, "readlink"), "readlink")
        if entry.fmt != stat.S_IFLNK:
            raise OSError(errnos.EINVAL, os.strerror(errnos.EINVAL), path)
        return entry.target

    def write(self, fd: int, data: bytes) -> int:
        self._call("write", (fd, data), (int, bytes))
        host = self._file_fd(fd, "write")
        flags = self._flags[fd]
        if flags & os.O_PATH or flags & os.O_ACCMODE == os.O_RDONLY:
            raise OSError(errnos.EBADF, os.strerror(errnos.EBADF))  # not open for writing
        self.written.setdefault(host, []).append(data)
        return len(data)

    def dup(self, fd: int) -> int:
        self._call("dup", (fd,), (int,))
        return self._new_fd(self._file_fd(fd, "dup"), self._names[fd], self._flags[fd])

    def resolve_in_root(self, root: str, path: str) -> str:
        self._call("resolve_in_root", (root, path), (str, str))
        root = posixpath.normpath(root)
        inside = posixpath.normpath("/" + path).lstrip("/")  # (".." clamped at the root)
        host = posixpath.normpath(posixpath.join(root, inside))
        step = root
        for part in host[len(root):].split("/"):
            step = posixpath.join(step, part) if part else step
            entry = self.files.get(step)
            if entry is not None and entry.fmt == stat.S_IFLNK:
                raise UnexpectedCall(f"resolve_in_root: {step} is a link (not followed here)")
        return host

    def openat2(self, dir_fd: int, path: str, flags: int, resolve: int) -> int:
        self._call("openat2", (dir_fd, path, flags, resolve), (int, str, int, int))
        base = self._file_fd(dir_fd, "openat2")
        if not flags & os.O_CLOEXEC:
            raise UnexpectedCall(f"openat2 {path}: without O_CLOEXEC the fd reaches the container")
        beneath = bool(resolve & RESOLVE_BENEATH)
        if not beneath and not resolve & RESOLVE_IN_ROOT:
            raise UnexpectedCall(f"openat2 {path}: only RESOLVE_IN_ROOT/BENEATH are modelled")
        if beneath and path.startswith("/"):
            raise KernelError("openat2", errnos.EXDEV, path)
        parts: list[str] = []
        comps = [c for c in path.split("/") if c not in ("", ".")]
        host, entry = base, self._entry(base, "openat2")
        for i, comp in enumerate(comps):
            if comp == "..":
                if parts:
                    parts.pop()
                elif beneath:
                    raise KernelError("openat2", errnos.EXDEV, path)  # (IN_ROOT: clamped)
                host = posixpath.join(base, *parts)
                entry = self._entry(host, "openat2")
                continue
            if entry.fmt != stat.S_IFDIR:
                raise KernelError("openat2", errnos.ENOTDIR, path)
            parts.append(comp)
            host = posixpath.join(base, *parts)
            found = self.files.get(host)
            if found is None:
                raise KernelError("openat2", errnos.ENOENT, path)
            entry = found
            if resolve & RESOLVE_NO_XDEV and host in self.other_mounts:
                raise KernelError("openat2", errnos.EXDEV, path)
            if entry.fmt == stat.S_IFLNK:
                _link_step(host, path, i == len(comps) - 1, flags, resolve)
        if flags & os.O_DIRECTORY and entry.fmt != stat.S_IFDIR:
            raise KernelError("openat2", errnos.ENOTDIR, path)
        return self._new_fd(host, flags=flags)

    def fstatfs_type(self, fd: int) -> int:
        self._call("fstatfs_type", (fd,), (int,))
        return self.fs_type_of(self._file_fd(fd, "fstatfs_type"))

    def list_symlinks(self, path: str) -> list[str]:
        self._call("list_symlinks", (path,), (str,))
        host = self._at(path, None, "list_symlinks")
        if self._entry(host, "list_symlinks").fmt != stat.S_IFDIR:
            raise NotADirectoryError(errnos.ENOTDIR, os.strerror(errnos.ENOTDIR), path)
        return [posixpath.basename(p) for p, e in self.files.items()
                if p != host and posixpath.dirname(p) == host and e.fmt == stat.S_IFLNK]

    def label_file(self, fd: int, label: str) -> None:
        self._call("label_file", (fd, label), (int, str))
        self.labels[self._file_fd(fd, "label_file")] = label

    def loopback_up(self) -> None:
        self._call("loopback_up", (), ())
        self.lo_up = True


def _link_step(host: str, path: str, last: bool, flags: int, resolve: int) -> None:
    """openat2 meets a symlink: an O_PATH|O_NOFOLLOW fd of a trailing one, else
    ELOOP under RESOLVE_NO_SYMLINKS or O_NOFOLLOW (openat2(2)); following it is
    not modelled."""
    if last and flags & os.O_NOFOLLOW:
        if not flags & os.O_PATH:
            raise KernelError("openat2", errnos.ELOOP, path)
    elif resolve & RESOLVE_NO_SYMLINKS:
        raise KernelError("openat2", errnos.ELOOP, path)
    else:
        raise UnexpectedCall(f"openat2: {host} is a link (not followed here)")
