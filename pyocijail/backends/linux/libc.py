"""ctypes wrappers for the Linux system calls the standard library lacks.

Only `ctypes` and `os` are imported, and libc is loaded on first use, so
importing this module costs next to nothing. Every wrapper raises
`KernelError(op, errno, path)` on failure; nothing returns -1.
The handle to libc is the module's only state.
"""

from __future__ import annotations

import ctypes
import errno
import os

from pyocijail.errors import KernelError

# --- constants ----------------------------------------------------------------

# clone(2) / unshare(2) / setns(2)
CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount(2)
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_POSIXACL = 1 << 16
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_I_VERSION = 1 << 23
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25

# umount2(2)
MNT_FORCE = 1
MNT_DETACH = 2
MNT_EXPIRE = 4
UMOUNT_NOFOLLOW = 8

# prctl(2)
PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

# openat2(2)
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10
RESOLVE_CACHED = 0x20

# the mount API of Linux >= 5.2 (mount_setattr: 5.12): mounts made from fds
OPEN_TREE_CLONE = 1
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x04
MOVE_MOUNT_T_EMPTY_PATH = 0x40
FSOPEN_CLOEXEC = 1
FSCONFIG_SET_FLAG = 0
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
FSMOUNT_CLOEXEC = 1
MOUNT_ATTR_RDONLY = 1

# statfs(2) f_type
PROC_SUPER_MAGIC = 0x9FA0
SYSFS_MAGIC = 0x62656572

# close_range(2)
CLOSE_RANGE_UNSHARE = 1 << 1
CLOSE_RANGE_CLOEXEC = 1 << 2

# statvfs f_flag bits (ST_*), used to keep a mount's locked flags on remount.
ST_TO_MS = {
    1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 16: MS_SYNCHRONOUS,
    64: MS_MANDLOCK, 1024: MS_NOATIME, 2048: MS_NODIRATIME, 4096: MS_RELATIME,
    8192: MS_NOSYMFOLLOW,
}

# Syscall numbers glibc has no wrapper for (pivot_root only since 2.36 and not
# in bookworm's headers as a function we can rely on). openat2/close_range
# come from the unified table and are equal on every architecture.
_SYSCALLS = {
    "x86_64": {"pivot_root": 155, "openat2": 437, "close_range": 436, "bpf": 321,
               "execveat": 322, "keyctl": 250},
    "aarch64": {"pivot_root": 41, "openat2": 437, "close_range": 436, "bpf": 280,
                "execveat": 281, "keyctl": 219},
}
#: The fd-based mount calls: from the unified table too, equal everywhere.
_MOUNT_API = {"open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
              "fsmount": 432, "mount_setattr": 442}

_lib: ctypes.CDLL | None = None


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


def _libc() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        # CDLL(None) is the already-loaded C library of the interpreter: no
        # ctypes.util lookup (which imports subprocess) and works with musl.
        lib = ctypes.CDLL(None, use_errno=True)
        c_char_p, c_int, c_ulong = ctypes.c_char_p, ctypes.c_int, ctypes.c_ulong
        lib.mount.argtypes = [c_char_p, c_char_p, c_char_p, c_ulong, c_char_p]
        lib.umount2.argtypes = [c_char_p, c_int]
        lib.unshare.argtypes = [c_int]
        lib.setns.argtypes = [c_int, c_int]
        lib.prctl.argtypes = [c_int, c_ulong, c_ulong, c_ulong, c_ulong]
        lib.sethostname.argtypes = [c_char_p, ctypes.c_size_t]
        lib.setdomainname.argtypes = [c_char_p, ctypes.c_size_t]
        lib.syscall.restype = ctypes.c_long
        _lib = lib
    return _lib


#: This machine's, read once (a LINUX32 personality, set just before exec, would
#: change what uname says, not the syscall table).
_MACHINE = os.uname().machine


def _nr(name: str) -> int:
    if name in _MOUNT_API:
        return _MOUNT_API[name]
    table = _SYSCALLS.get(_MACHINE)
    if table is None:
        raise KernelError(name, None, None, f"unsupported architecture {_MACHINE}")
    return table[name]


def _b(value: str | bytes | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def _check(result: int, op: str, path: str | bytes | None = None) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise KernelError(op, err, os.fsdecode(path) if path is not None else None)
    return result


# --- wrappers -------------------------------------------------------------------

def mount(source: str | None, target: str, fstype: str | None, flags: int = 0,
          data: str | None = None) -> None:
    _check(_libc().mount(_b(source), _b(target), _b(fstype), flags, _b(data) or None),
           "mount", target)


def umount2(target: str, flags: int = 0) -> None:
    _check(_libc().umount2(_b(target), flags), "umount", target)


def pivot_root(new_root: str, put_old: str) -> None:
    lib = _libc()
    _check(lib.syscall(ctypes.c_long(_nr("pivot_root")), ctypes.c_char_p(_b(new_root)),
                       ctypes.c_char_p(_b(put_old))), "pivot_root", new_root)


def unshare(flags: int) -> None:
    _check(_libc().unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc().setns(fd, nstype), "setns")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_libc().prctl(option, arg2, arg3, arg4, arg5), "prctl")


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc().sethostname(raw, len(raw)), "sethostname")


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_libc().setdomainname(raw, len(raw)), "setdomainname")


def openat2(dirfd: int, path: str, flags: int, resolve: int = 0, mode: int = 0) -> int:
    """openat2(2); ENOSYS (kernel < 5.6) is raised like any other error."""
    how = _OpenHow(flags, mode, resolve)
    result = _libc().syscall(ctypes.c_long(_nr("openat2")), ctypes.c_int(dirfd),
                             ctypes.c_char_p(_b(path)), ctypes.byref(how),
                             ctypes.c_size_t(ctypes.sizeof(how)))
    return _check(result, "openat2", path)


def open_in_root(root: str, path: str, flags: int) -> int | None:
    """`rootpath`'s opener on Linux: openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)
    on an O_PATH fd of `root`, retried on EAGAIN (a rename or mount raced with a
    ".." step); None on ENOSYS (kernel < 5.6), for rootpath's own walk."""
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for _attempt in range(32):
            try:
                return openat2(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
            except KernelError as e:
                if e.errno == errno.ENOSYS:
                    return None
                if e.errno != errno.EAGAIN:
                    raise
        raise KernelError("open", errno.EAGAIN, path)
    finally:
        os.close(root_fd)


def close_range(first: int, last: int = 0xFFFFFFFF, flags: int = 0) -> None:
    """close_range(2) (Linux >= 5.9); `last` defaults to "every fd above first"."""
    _check(_libc().syscall(ctypes.c_long(_nr("close_range")), ctypes.c_uint(first),
                           ctypes.c_uint(last), ctypes.c_uint(flags)), "close_range")


def bpf(cmd: int, attr: ctypes.Array[ctypes.c_char] | ctypes.Structure, op: str,
        path: str | None = None) -> int:
    """bpf(2): `attr` is the command's part of union bpf_attr (zero-filled past
    the fields used); returns the syscall's result (a new fd for loads)."""
    result = _libc().syscall(ctypes.c_long(_nr("bpf")), ctypes.c_int(cmd), ctypes.byref(attr),
                             ctypes.c_uint(ctypes.sizeof(attr)))
    return _check(result, op, path)


AT_EMPTY_PATH = 0x1000


def fexecve(fd: int, argv: list[str], env: dict[str, str]) -> None:
    """execveat(fd, "", argv, env, AT_EMPTY_PATH); returns only by raising OSError.

    The syscall itself, not glibc's fexecve: that one falls back to a path
    under /proc/self/fd when execveat fails with ENOSYS (a seccomp profile's
    default errno), and after pivot_root that is the container's /proc."""
    args = [os.fsencode(a) for a in argv]
    envp = [os.fsencode(k) + b"=" + os.fsencode(v) for k, v in env.items()]
    c_argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
    c_envp = (ctypes.c_char_p * (len(envp) + 1))(*envp, None)
    _libc().syscall(ctypes.c_long(_nr("execveat")), ctypes.c_int(fd), ctypes.c_char_p(b""),
                    c_argv, c_envp, ctypes.c_int(AT_EMPTY_PATH))
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err))


def mount_flags_of(path: str) -> int:
    """The MS_* flags a mount currently has (from statvfs), for remounts that
    must keep flags the kernel locks (nosuid/nodev/noexec/atime in a userns)."""
    try:
        st = os.statvfs(path)
    except OSError as e:
        raise KernelError("statvfs", e.errno, path) from None
    return sum(ms for st_bit, ms in ST_TO_MS.items() if st.f_flag & st_bit)


def fstatfs_type(fd: int) -> int:
    """statfs.f_type of an open file: which filesystem it is on (PROC_SUPER_MAGIC...)."""
    buf = ctypes.create_string_buffer(256)  # struct statfs: 120 bytes on 64-bit
    _check(_libc().fstatfs(ctypes.c_int(fd), buf), "fstatfs")
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF  # f_type, the first field


def _call(name: str, *args: object) -> int:
    return _check(_libc().syscall(ctypes.c_long(_nr(name)), *args), name)


def open_tree(fd: int, flags: int) -> int:
    """open_tree(fd, "", flags|AT_EMPTY_PATH|OPEN_TREE_CLOEXEC): with OPEN_TREE_CLONE
    a detached copy of the mount at `fd` (a bind mount not attached anywhere yet)."""
    return _call("open_tree", ctypes.c_int(fd), ctypes.c_char_p(b""),
                 ctypes.c_uint(flags | AT_EMPTY_PATH | os.O_CLOEXEC))


def move_mount(from_fd: int, to_fd: int) -> None:
    """Attach the mount `from_fd` (open_tree, fsmount) on the file `to_fd` names."""
    _call("move_mount", ctypes.c_int(from_fd), ctypes.c_char_p(b""), ctypes.c_int(to_fd),
          ctypes.c_char_p(b""), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH))


def mount_setattr(fd: int, attr_set: int, flags: int = 0) -> None:
    """Set MOUNT_ATTR_* on the mount `fd` names (AT_RECURSIVE: and its submounts)."""
    attr = _MountAttr(attr_set, 0, 0, 0)
    _call("mount_setattr", ctypes.c_int(fd), ctypes.c_char_p(b""),
          ctypes.c_uint(flags | AT_EMPTY_PATH), ctypes.byref(attr),
          ctypes.c_size_t(ctypes.sizeof(attr)))


def fsmount_new(fstype: str, source: str, *, readonly: bool = False,
                context: str | None = None) -> int:
    """A new, detached mount of `fstype` (fsopen, fsconfig, fsmount), as mount(2)
    with MS_RDONLY would make it: the superblock and the mount read-only.
    `context`: an SELinux label, the fsconfig form of mount(2)'s `context="..."`."""
    fs = _call("fsopen", ctypes.c_char_p(_b(fstype)), ctypes.c_uint(FSOPEN_CLOEXEC))

    def config(cmd: int, key: bytes | None = None, value: bytes | None = None) -> None:
        _call("fsconfig", ctypes.c_int(fs), ctypes.c_uint(cmd), ctypes.c_char_p(key),
              ctypes.c_char_p(value), ctypes.c_int(0))

    try:
        config(FSCONFIG_SET_STRING, b"source", _b(source))
        if context:
            config(FSCONFIG_SET_STRING, b"context", _b(context))
        if readonly:
            config(FSCONFIG_SET_FLAG, b"ro")
        config(FSCONFIG_CMD_CREATE)
        return _call("fsmount", ctypes.c_int(fs), ctypes.c_uint(FSMOUNT_CLOEXEC),
                     ctypes.c_uint(MOUNT_ATTR_RDONLY if readonly else 0))
    finally:
        os.close(fs)


# keyctl(2): linux/keyctl.h commands, linux/key.h permission bits
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_SETPERM = 5
KEYCTL_DESCRIBE = 6
KEY_USR_SEARCH = 0x00080000


def join_session_keyring(name: str) -> int:
    """keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): subscribe to the session keyring
    called `name`, made now if none this process may search exists; its serial."""
    return _call("keyctl", ctypes.c_int(KEYCTL_JOIN_SESSION_KEYRING),
                 ctypes.c_char_p(_b(name)))


def add_key_permissions(serial: int, bits: int) -> None:
    """Add `bits` to a key's permission mask (KEYCTL_DESCRIBE gives
    "type;uid;gid;perm;description", perm in hex; KEYCTL_SETPERM sets it)."""
    buf = ctypes.create_string_buffer(512)
    _call("keyctl", ctypes.c_int(KEYCTL_DESCRIBE), ctypes.c_int(serial), buf,
          ctypes.c_size_t(len(buf)))
    fields = buf.value.split(b";")
    if len(fields) < 5:
        raise KernelError("keyctl describe", None, None, f"unexpected {buf.value!r}")
    perm = int(fields[3], 16)
    _call("keyctl", ctypes.c_int(KEYCTL_SETPERM), ctypes.c_int(serial),
          ctypes.c_uint32(perm | bits))
