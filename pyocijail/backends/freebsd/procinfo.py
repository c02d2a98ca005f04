# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Liveness on FreeBSD: one sysctl(3) of kern.proc.pid.<pid>, through ctypes.

sys/kern/kern_proc.c `sysctl_kern_proc` answers the MIB {CTL_KERN,
KERN_PROC, KERN_PROC_PID, pid} with one `struct kinfo_proc` (`pget` finds
zombies too; an unknown or invisible pid is ESRCH). Only its prefix up to
`ki_stat` is read here: its layout is FreeBSD 14's sys/sys/user.h, the same
on every LP64 architecture (KINFO_PROC_SIZE 1088 on amd64 and arm64), where
`segsz_t`, `time_t` and `suseconds_t` are C longs. The token is the float
psutil's FreeBSD `create_time()` gives (ki_start as tv_sec + tv_usec / 1e6),
so containers recorded by an earlier version stay recognised.

Lean: loaded by `state`, `start`, `kill` and `delete` (docs/hacking.md), so it
is built on `_ctypes` alone, not the `ctypes` package (whose __init__ imports
`os`, `struct` and more: ~3.5 ms, more than the rest of `state`): the few C
types it needs are declared here as ctypes declares them. The objects are
ordinary ctypes objects (`ctypes.addressof`, `from_address` work on them).
"""

import _ctypes

TYPE_CHECKING = False  # not `from typing import`: this module is on the lean path
if TYPE_CHECKING:
    # The type checker reads ctypes' own declarations of the same C types
    # (typeshed's generic _SimpleCData[T]); run time uses the lean ones below.
    from ctypes import (
        c_char,
        c_int,
        c_long,
        c_short,
        c_uint,
        c_uint64,
        c_ulong,
        c_ushort,
        c_void_p,
    )
    from typing import Any
else:
    class c_int(_ctypes._SimpleCData):  # ctypes' names, lower case as in ctypes
        _type_ = "i"

    class c_uint(_ctypes._SimpleCData):
        _type_ = "I"

    class c_short(_ctypes._SimpleCData):
        _type_ = "h"

    class c_ushort(_ctypes._SimpleCData):
        _type_ = "H"

    class c_long(_ctypes._SimpleCData):
        _type_ = "l"

    class c_ulong(_ctypes._SimpleCData):  # size_t and vm_size_t where used
        _type_ = "L"

    class c_uint64(_ctypes._SimpleCData):
        _type_ = "Q"

    class c_void_p(_ctypes._SimpleCData):
        _type_ = "P"

    class c_char(_ctypes._SimpleCData):
        _type_ = "c"


CTL_KERN, KERN_PROC, KERN_PROC_PID = 1, 14, 1  # sys/sys/sysctl.h
SZOMB = 5  # sys/sys/proc.h: ki_stat of a zombie
SRUN = 2
#: more than any architecture's KINFO_PROC_SIZE: the kernel copies out its size
BUFFER = 2048
RTLD_NOW = 2  # dlfcn.h, the same on FreeBSD and Linux


class Timeval(_ctypes.Structure):
    _fields_ = [("tv_sec", c_long), ("tv_usec", c_long)]  # noqa: RUF012 - ctypes reads a list


class KinfoProcHead(_ctypes.Structure):
    """struct kinfo_proc from ki_structsize to ki_stat (sys/sys/user.h)."""

    _fields_ = [  # noqa: RUF012 - ctypes reads a list
        ("ki_structsize", c_int), ("ki_layout", c_int),
        # ki_args, ki_paddr, ki_addr, ki_tracep, ki_textvp, ki_fd, ki_vmspace, ki_wchan
        ("ki_pointers", c_void_p * 8),
        ("ki_pid", c_int),
        ("ki_ppid_to_tsid", c_int * 5),  # ppid, pgid, tpgid, sid, tsid
        ("ki_jobc", c_short), ("ki_spare_short1", c_short),
        ("ki_tdev_freebsd11", c_uint),
        ("ki_sigsets", c_uint * 16),  # siglist, sigmask, sigignore, sigcatch
        ("ki_ids", c_uint * 5),  # uid, ruid, svuid, rgid, svgid
        ("ki_ngroups", c_short), ("ki_spare_short2", c_short),
        ("ki_groups", c_uint * 16),  # KI_NGROUPS
        ("ki_size", c_ulong),  # vm_size_t
        ("ki_segsz", c_long * 5),  # rssize, swrss, tsize, dsize, ssize
        ("ki_xstat", c_ushort), ("ki_acflag", c_ushort),
        ("ki_cpu", c_uint * 5),  # pctcpu, estcpu, slptime, swtime, cow
        ("ki_runtime", c_uint64),
        ("ki_start", Timeval), ("ki_childtime", Timeval),
        ("ki_flag", c_long), ("ki_kiflag", c_long),
        ("ki_traceflag", c_int),
        ("ki_stat", c_char),
    ]


class _Function(_ctypes.CFuncPtr):
    """An `int f(...)` of the C library, called as ctypes.CDLL's functions are."""

    _flags_ = _ctypes.FUNCFLAG_CDECL
    _restype_ = c_int


class _Libc:
    """This process's C library (dlopen(NULL), as ctypes.CDLL(None)): just sysctl."""

    def __init__(self) -> None:
        # dlopen(NULL): this process's own symbols (typeshed's stub omits None)
        self._handle = _ctypes.dlopen(None, RTLD_NOW)  # type: ignore[arg-type]
        # CFuncPtr((name, library)) reads the library's _handle, as for a CDLL
        self.sysctl = _Function(("sysctl", self))  # type: ignore[arg-type]


_libc: "_Libc | None" = None


def _default_libc() -> "_Libc":
    global _libc
    if _libc is None:
        _libc = _Libc()
    return _libc


def start_time(pid: int, libc: "Any" = None) -> "str | None":
    """The liveness token of `pid` (see `pyocijail.state.liveness`), None if it
    is gone, a zombie, or not visible from here."""
    if pid <= 0:
        return None
    lib = libc if libc is not None else _default_libc()
    mib = (c_int * 4)(CTL_KERN, KERN_PROC, KERN_PROC_PID, pid)
    buf = (c_char * BUFFER)()
    size = c_ulong(BUFFER)
    if lib.sysctl(mib, c_uint(4), buf, _ctypes.byref(size), None, c_ulong(0)) != 0:
        return None  # ESRCH: no such process (or not visible to this jail)
    if size.value < _ctypes.sizeof(KinfoProcHead):
        return None  # an empty answer: no process
    info = KinfoProcHead.from_buffer(buf)
    if info.ki_pid != pid or info.ki_stat == bytes([SZOMB]):
        return None
    return repr(info.ki_start.tv_sec + info.ki_start.tv_usec / 1000000.0)
