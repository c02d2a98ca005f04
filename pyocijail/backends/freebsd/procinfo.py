"""Liveness on FreeBSD: one sysctl(3) of kern.proc.pid.<pid>, through ctypes.

sys/kern/kern_proc.c `sysctl_kern_proc` answers the MIB {CTL_KERN,
KERN_PROC, KERN_PROC_PID, pid} with one `struct kinfo_proc` (`pget` finds
zombies too; an unknown or invisible pid is ESRCH). Only its prefix up to
`ki_stat` is read here: its layout is FreeBSD 14's sys/sys/user.h, the same
on every LP64 architecture (KINFO_PROC_SIZE 1088 on amd64 and arm64), where
`segsz_t`, `time_t` and `suseconds_t` are C longs. The token is the float
psutil's FreeBSD `create_time()` gives (ki_start as tv_sec + tv_usec / 1e6),
so containers recorded by an earlier version stay recognised.

Lean: loaded by `state`, `start`, `kill` and `delete` (docs/hacking.md).
"""

import ctypes

CTL_KERN, KERN_PROC, KERN_PROC_PID = 1, 14, 1  # sys/sys/sysctl.h
SZOMB = 5  # sys/sys/proc.h: p_state PRS_ZOMBIE is reported as SZOMB in ki_stat
#: more than any architecture's KINFO_PROC_SIZE: the kernel copies out its size
BUFFER = 2048


class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class KinfoProcHead(ctypes.Structure):
    """struct kinfo_proc from ki_structsize to ki_stat (sys/sys/user.h)."""

    _fields_ = [
        ("ki_structsize", ctypes.c_int), ("ki_layout", ctypes.c_int),
        # ki_args, ki_paddr, ki_addr, ki_tracep, ki_textvp, ki_fd, ki_vmspace, ki_wchan
        ("ki_pointers", ctypes.c_void_p * 8),
        ("ki_pid", ctypes.c_int),
        ("ki_ppid_to_tsid", ctypes.c_int * 5),  # ppid, pgid, tpgid, sid, tsid
        ("ki_jobc", ctypes.c_short), ("ki_spare_short1", ctypes.c_short),
        ("ki_tdev_freebsd11", ctypes.c_uint32),
        ("ki_sigsets", ctypes.c_uint32 * 16),  # siglist, sigmask, sigignore, sigcatch
        ("ki_ids", ctypes.c_uint32 * 5),  # uid, ruid, svuid, rgid, svgid
        ("ki_ngroups", ctypes.c_short), ("ki_spare_short2", ctypes.c_short),
        ("ki_groups", ctypes.c_uint32 * 16),  # KI_NGROUPS
        ("ki_size", ctypes.c_size_t),  # vm_size_t
        ("ki_segsz", ctypes.c_long * 5),  # rssize, swrss, tsize, dsize, ssize
        ("ki_xstat", ctypes.c_ushort), ("ki_acflag", ctypes.c_ushort),
        ("ki_cpu", ctypes.c_uint32 * 5),  # pctcpu, estcpu, slptime, swtime, cow
        ("ki_runtime", ctypes.c_uint64),
        ("ki_start", Timeval), ("ki_childtime", Timeval),
        ("ki_flag", ctypes.c_long), ("ki_kiflag", ctypes.c_long),
        ("ki_traceflag", ctypes.c_int),
        ("ki_stat", ctypes.c_char),
    ]


_libc = None


def _default_libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def start_time(pid: int, libc=None) -> "str | None":
    """The liveness token of `pid` (see `pyocijail.state.liveness`), None if it
    is gone, a zombie, or not visible from here."""
    if pid <= 0:
        return None
    lib = libc if libc is not None else _default_libc()
    mib = (ctypes.c_int * 4)(CTL_KERN, KERN_PROC, KERN_PROC_PID, pid)
    buf = ctypes.create_string_buffer(BUFFER)
    size = ctypes.c_size_t(BUFFER)
    if lib.sysctl(mib, ctypes.c_uint(4), buf, ctypes.byref(size), None,
                  ctypes.c_size_t(0)) != 0:
        return None  # ESRCH: no such process (or not visible to this jail)
    if size.value < ctypes.sizeof(KinfoProcHead):
        return None  # an empty answer: no process
    info = KinfoProcHead.from_buffer(buf)
    if info.ki_pid != pid or info.ki_stat == bytes([SZOMB]):
        return None
    return repr(info.ki_start.tv_sec + info.ki_start.tv_usec / 1000000.0)
