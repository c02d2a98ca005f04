"""FakeLibc: FreeBSD's libc at the ctypes boundary, over the simulated kernel.

It has the callable names and the calling convention of
`ctypes.CDLL("libc.so.7", use_errno=True)` as `backends/freebsd/libc.py` uses
them: it receives the iovec arrays, pointers and C integers the real code
builds, decodes the bytes as the kernel does (so an encoding mistake in
`LibcKernel` is a test failure), asks the strict model
(`simkernel.SimulatedKernel`) and answers as a system call would: the result,
or -1 with the errno left for `ctypes.get_errno` (through `ctypes.set_errno`)
and the kernel's message copied into the caller's `errmsg` buffer.

Also `statfs`/`fstatfs`/`getfsstat`, which write struct statfs through
`libc.Statfs` (the product's one definition of the 14.x layout, so the bytes
the fake writes are the bytes LibcKernel decodes), `unmount` with MNT_BYFSID
(the "FSID:%d:%d" text goes to the model, which scans it as kern_unmount's
sscanf does), `procctl` and `setrlimit` (struct rlimit through `libc.Rlimit`).
To extend it: add a method with the C signature, decode with `_iovec` /
`_cstring`, answer through `_call`.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

from pyocijail.backends.freebsd import jailparams
from pyocijail.backends.freebsd.kernel import MNT_FLAGS, Mounted
from pyocijail.backends.freebsd.libc import MFSNAMELEN, MNAMELEN, Rlimit, Statfs
from pyocijail.errors import KernelError
from pyocijail.testing.simkernel import SimulatedKernel

JAIL_CREATE, JAIL_UPDATE, JAIL_ATTACH, JAIL_DYING = 0x01, 0x02, 0x04, 0x08  # sys/jail.h
#: sys/sys/mount.h STATFS_VERSION: what struct statfs's f_version carries since 12.0.
STATFS_VERSION = 0x20140518
#: sys/sys/mount.h MNT_WAIT, MNT_NOWAIT, MNT_LAZY: getfsstat(2)'s modes
#: (vfs_syscalls.c kern_getfsstat: anything else is EINVAL).
GETFSSTAT_MODES = (1, 2, 3)
#: kern.osreldate (__FreeBSD_version, sys/sys/param.h) of the release each model
#: `release` stands for: 14.3-RELEASE and 15.0-RELEASE.
OSRELDATE = {14: 1403000, 15: 1500068}


#: vfs_mount.c vfs_donmount: option names it turns into MNT_* bits (and leaves in
#: the option list, where a file system's vfs_filteropt sees them).
FLAG_OPTIONS = {name: bit for name, bit in MNT_FLAGS.items()}


class _Fail(Exception):
    def __init__(self, err: int, msg: str = "") -> None:
        super().__init__(err, msg)
        self.errno, self.msg = err, msg


def _int(value: Any) -> int:
    """A C integer argument as the callee sees it (ctypes object or Python int)."""
    return int(getattr(value, "value", value) or 0)


def _wide(value: Any, ctype: Any, what: str) -> int:
    """An argument whose C type is not int (id_t, long; unsigned uid_t, gid_t):
    without argtypes, ctypes passes a Python int as a C int, so the caller must
    pass `ctype`."""
    if not isinstance(value, ctype):
        raise TypeError(f"{what} must be passed as ctypes.{ctype.__name__}, "
                        f"not {type(value).__name__}")
    return int(value.value)


def _address(pointer: Any) -> int | None:
    """The address a pointer argument (bytes, buffer, byref(), None) carries."""
    if pointer is None:
        return None
    return ctypes.cast(pointer, ctypes.c_void_p).value


def _cstring(pointer: Any) -> bytes:
    address = _address(pointer)
    if address is None:
        raise _Fail(errno.EFAULT)
    return ctypes.string_at(address)


class _Opt:
    """One name/value pair of an iovec array (sys/kern/vfs_mount.c struct vfsopt)."""

    def __init__(self, name: str, base: int | None, length: int) -> None:
        self.name, self.base, self.length = name, base, length

    @property
    def value(self) -> bytes | None:
        return None if self.base is None else ctypes.string_at(self.base, self.length)

    def write(self, data: bytes) -> None:
        if self.base is None:  # copyout to a NULL buffer
            raise _Fail(errno.EFAULT)
        ctypes.memmove(self.base, data, min(len(data), self.length))


def _iovec(iov: Any, niov: Any) -> list[_Opt]:
    """vfs_mount.c vfs_buildopts: an even count, each name NUL-terminated."""
    count = _int(niov)
    if count % 2:
        raise _Fail(errno.EINVAL)
    address = _address(iov)
    if address is None:
        raise _Fail(errno.EFAULT)
    words = (ctypes.c_void_p * (2 * count)).from_address(address)
    out = []
    for i in range(0, count, 2):
        nbase, nlen = words[2 * i], words[2 * i + 1] or 0
        vbase, vlen = words[2 * i + 2], words[2 * i + 3] or 0
        if not nbase or nlen == 0:
            raise _Fail(errno.EINVAL)
        raw = ctypes.string_at(nbase, nlen)
        if raw[-1:] != b"\0":
            raise _Fail(errno.EINVAL)  # "name not NUL-terminated"
        out.append(_Opt(raw[:-1].decode(errors="surrogateescape"), vbase, vlen))
    return out


def _errmsg(opts: list[_Opt], message: str) -> None:
    """vfs_opterror / kern_jail_set's copyout: the text into the caller's buffer."""
    for opt in opts:
        if opt.name == "errmsg" and opt.base is not None and opt.length > 0:
            data = message.encode()[:opt.length - 1] + b"\0"
            opt.write(data)


def _param_value(name: str, raw: bytes | None) -> Any:
    """A jail_set value decoded by its parameter's type (kern_jail.c: vfs_copyopt
    wants the exact size, vfs_getopts a NUL-terminated string)."""
    kind = jailparams.TABLE[name].type
    if kind == "bool":
        return True  # vfs_flagopt: present means set
    if raw is None:
        raise _Fail(errno.EINVAL)
    if kind in ("int", "jailsys"):
        if len(raw) != 4:
            raise _Fail(errno.EINVAL)
        value = struct.unpack("=i", raw)[0]
        if kind == "int":
            return value
        names = {v: k for k, v in jailparams.JAILSYS.items()}
        if value not in names:
            raise _Fail(errno.EINVAL)
        return names[value]
    if kind == "ulong":
        if len(raw) != ctypes.sizeof(ctypes.c_ulong):
            raise _Fail(errno.EINVAL)
        return struct.unpack("@L", raw)[0]
    if kind == "string":
        if not raw or raw[-1:] != b"\0" or b"\0" in raw[:-1]:
            raise _Fail(errno.EINVAL)
        return raw[:-1].decode(errors="surrogateescape")
    family, size = (socket.AF_INET, 4) if kind == "ip4" else (socket.AF_INET6, 16)
    if len(raw) % size:
        raise _Fail(errno.EINVAL, f"{name}: not a whole number of addresses")
    return [socket.inet_ntop(family, raw[i:i + size]) for i in range(0, len(raw), size)]


def _param_name(name: str) -> tuple[str, bool]:
    """kern_jail.c matches a boolean by name or by its "no" form (bf->noname)."""
    if name in jailparams.TABLE:
        return name, True
    head, dot, last = name.rpartition(".")
    if last.startswith("no"):
        plain = f"{head}{dot}{last[2:]}"
        param = jailparams.TABLE.get(plain)
        if param is not None and param.type == "bool":
            return plain, False
    return name, True


class FakeLibc:
    """What `LibcKernel` calls, answered by `sim`."""

    def __init__(self, sim: SimulatedKernel) -> None:
        self.sim = sim

    def _call(self, fn: Callable[[], int], opts: list[_Opt] | None = None) -> int:
        try:
            result = fn()
        except _Fail as failure:
            err, msg = failure.errno, failure.msg
        except KernelError as failure:
            err, msg = failure.errno or errno.EINVAL, _detail(failure)
        else:
            ctypes.set_errno(0)
            return result
        if opts is not None and msg:
            _errmsg(opts, msg)
        ctypes.set_errno(err)
        return -1

    # --- jails: sys/kern/kern_jail.c ------------------------------------------------
    def jail_set(self, iov: Any, niov: Any, flags: Any) -> int:
        """sys_jail_set / kern_jail_set: create (JAIL_CREATE) or update (JAIL_UPDATE)."""
        opts: list[_Opt] = []

        def run() -> int:
            opts.extend(_iovec(iov, niov))
            how = _int(flags)
            if how & ~(JAIL_CREATE | JAIL_UPDATE | JAIL_ATTACH | JAIL_DYING):
                raise _Fail(errno.EINVAL)
            if how & (JAIL_CREATE | JAIL_UPDATE) not in (JAIL_CREATE, JAIL_UPDATE) \
                    or how & (JAIL_ATTACH | JAIL_DYING):
                # The model knows create or update alone; LibcKernel sends nothing else.
                raise _Fail(errno.EINVAL, "flags this simulation does not model")
            params: dict[str, Any] = {}
            for opt in opts:
                if opt.name == "errmsg":
                    continue
                name, truth = _param_name(opt.name)
                if name not in jailparams.TABLE:
                    raise _Fail(errno.EINVAL, f"unknown parameter: {opt.name}")
                value = _param_value(name, opt.value)
                params[name] = truth if jailparams.TABLE[name].type == "bool" else value
            return self.sim.jail_set(params, create=bool(how & JAIL_CREATE))

        return self._call(run, opts)

    def jail_get(self, iov: Any, niov: Any, flags: Any) -> int:
        """kern_jail_get: the jail by `lastjid`, `jid` or `name`; every other
        option is an output, written with vfs_setopt (exact size for ints, EINVAL
        otherwise) or vfs_setopts (ENAMETOOLONG when the buffer is short)."""
        opts: list[_Opt] = []

        def run() -> int:
            opts.extend(_iovec(iov, niov))
            if _int(flags) & ~JAIL_DYING:
                raise _Fail(errno.EINVAL)
            by = {o.name: o for o in opts}
            jid = None
            for key in ("lastjid", "jid"):
                if key in by:
                    raw = by[key].value
                    if raw is None or len(raw) != 4:
                        raise _Fail(errno.EINVAL)
                    jid = struct.unpack("=i", raw)[0]
                    if key == "lastjid" or jid:
                        jail = self.sim.jail_get_by(key, jid)
                        break
            else:
                if "name" not in by:
                    raise _Fail(errno.ENOENT, "no jail specified")
                jail = self.sim.jail_get_by("name", _param_value("name", by["name"].value))
            # Then every option but lastjid is an output, the keys included.
            for opt in opts:
                if opt.name not in ("lastjid", "errmsg"):
                    self._put(opt, jail)
            return int(jail["jid"])

        return self._call(run, opts)

    @staticmethod
    def _put(opt: _Opt, jail: dict[str, Any]) -> None:
        name, truth = _param_name(opt.name)
        if name not in jail:
            raise _Fail(errno.EINVAL, f"unknown parameter: {opt.name}")
        value, kind = jail[name], jailparams.TABLE[name].type
        if kind == "bool":
            data = struct.pack("=i", 1 if bool(value) == truth else 0)
        elif kind in ("int", "jailsys"):
            data = struct.pack("=i", jailparams.JAILSYS[value] if kind == "jailsys" else value)
        elif kind == "ulong":
            data = struct.pack("@L", value)
        elif kind == "string":
            text = value.encode() + b"\0"
            if opt.length < len(text):
                raise _Fail(errno.ENAMETOOLONG)
            opt.write(text)
            return
        else:
            family = socket.AF_INET if kind == "ip4" else socket.AF_INET6
            data = b"".join(socket.inet_pton(family, a) for a in value)
        if opt.base is None or opt.length != len(data):
            raise _Fail(errno.EINVAL)
        opt.write(data)

    def jail_attach(self, jid: Any) -> int:
        """sys_jail_attach: EINVAL for a missing (or dying) jail."""
        def run() -> int:
            self.sim.jail_attach(_int(jid))
            return 0

        return self._call(run)

    def jail_remove(self, jid: Any) -> int:
        """sys_jail_remove: EINVAL for a missing jail."""
        def run() -> int:
            self.sim.jail_remove(_int(jid))
            return 0

        return self._call(run)

    # --- file systems: sys/kern/vfs_mount.c ---------------------------------------------
    def nmount(self, iov: Any, niov: Any, flags: Any) -> int:
        """sys_nmount: at least 4 iovecs; the int flags sign-extended into 64 bits;
        vfs_donmount: fstype and fspath required, flag words turned into MNT_* bits."""
        opts: list[_Opt] = []

        def run() -> int:
            if _int(niov) < 4:
                raise _Fail(errno.EINVAL)
            opts.extend(_iovec(iov, niov))
            bits = _int(flags) & 0xFFFFFFFFFFFFFFFF  # (uint64_t)(int)flags
            values: dict[str, str | None] = {}
            for opt in opts:
                raw = opt.value
                if raw is not None and (not raw or raw[-1:] != b"\0"):
                    raise _Fail(errno.EINVAL)
                values[opt.name] = None if raw is None else raw[:-1].decode()
            fstype, fspath = values.pop("fstype", None), values.pop("fspath", None)
            if not fstype or not fspath:
                raise _Fail(errno.EINVAL)
            values.pop("errmsg", None)
            source = values.pop("target" if fstype == "nullfs" else "from", None)
            if fstype == "nullfs" and source is None:
                source = values.pop("from", None)  # null_vfsops.c: "from", then "target"
            for name, bit in FLAG_OPTIONS.items():
                if name in values:
                    bits |= bit
            self.sim.nmount(fstype, source or "", fspath, bits, values)
            return 0

        return self._call(run, opts)

    def unmount(self, path: Any, flags: Any) -> int:
        """sys_unmount: by path, or with MNT_BYFSID by "FSID:%d:%d", which the
        model scans as kern_unmount does (EINVAL when it does not scan, ENOENT
        when no mount has that fsid). The path is copied in with copyinstr."""
        def run() -> int:
            text = _cstring(path).decode(errors="surrogateescape")
            self.sim.unmount(text, _int(flags))
            return 0

        return self._call(run)

    def statfs(self, path: Any, buf: Any) -> int:
        """sys_statfs (vfs_syscalls.c kern_statfs): the struct statfs of the mount
        the path is on; ENOENT for a missing path."""
        return self._call(lambda: _fill(self.sim.statfs(_cstring(path).decode()), _address(buf)))

    def fstatfs(self, fd: Any, buf: Any) -> int:
        """sys_fstatfs: as statfs, for the file an open descriptor names."""
        def run() -> int:
            try:
                path = os.readlink(f"/proc/self/fd/{_int(fd)}")
            except OSError:
                raise _Fail(errno.EBADF) from None
            return _fill(self.sim.statfs(path), _address(buf))

        return self._call(run)

    def getfsstat(self, buf: Any, bufsize: Any, mode: Any) -> int:
        """vfs_syscalls.c kern_getfsstat: with a NULL buffer the number of mounted
        file systems; else as many struct statfs as fit in `bufsize` bytes, and
        that number. EINVAL for a mode other than MNT_WAIT/NOWAIT/LAZY."""
        def run() -> int:
            size = _wide(bufsize, ctypes.c_long, "getfsstat's bufsize (long)")
            if _int(mode) not in GETFSSTAT_MODES:
                raise _Fail(errno.EINVAL)
            mounted = self.sim.getfsstat()
            address = _address(buf)
            if address is None:
                return len(mounted)
            room = max(size, 0) // ctypes.sizeof(Statfs)
            for i, m in enumerate(mounted[:room]):
                _fill(m, address + i * ctypes.sizeof(Statfs))
            return min(room, len(mounted))

        return self._call(run)

    # --- limits: sys/kern/kern_resource.c ------------------------------------------------
    def setrlimit(self, resource: Any, rlp: Any) -> int:
        """sys_setrlimit: copyin the struct rlimit `rlp` points to (`libc.Rlimit`,
        two int64_t), then kern_setrlimit on the calling process."""
        def run() -> int:
            address = _address(rlp)
            if address is None:
                raise _Fail(errno.EFAULT)
            limit = Rlimit.from_address(address)
            self.sim.setrlimit(_int(resource), int(limit.rlim_cur), int(limit.rlim_max))
            return 0

        return self._call(run)

    # --- credentials: sys/kern/kern_prot.c ----------------------------------------------
    def setgroups(self, ngroups: Any, gidset: Any) -> int:
        """sys_setgroups: copyin `ngroups` gid_t (uint32_t) from `gidset`."""
        def run() -> int:
            count = _int(ngroups)
            address = _address(gidset)
            if count < 0:
                raise _Fail(errno.EINVAL)
            groups: list[int] = []
            if count:
                if address is None:
                    raise _Fail(errno.EFAULT)
                groups = list((ctypes.c_uint32 * count).from_address(address))
            self.sim.setgroups(groups)
            return 0

        return self._call(run)

    def setgid(self, gid: Any) -> int:
        def run() -> int:
            self.sim.setgid(_wide(gid, ctypes.c_uint32, "setgid's gid_t"))
            return 0

        return self._call(run)

    def setuid(self, uid: Any) -> int:
        def run() -> int:
            self.sim.setuid(_wide(uid, ctypes.c_uint32, "setuid's uid_t"))
            return 0

        return self._call(run)

    # --- processes: sys/kern/kern_procctl.c ----------------------------------------------
    def procctl(self, idtype: Any, ident: Any, cmd: Any, data: Any) -> int:
        """sys_procctl: `data` points to an int for PROC_TRACE_CTL, NULL for
        PROC_REAP_ACQUIRE."""
        def run() -> int:
            address = _address(data)
            value = None if address is None else ctypes.c_int.from_address(address).value
            pid = _wide(ident, ctypes.c_int64, "procctl's id (id_t, 64-bit)")
            self.sim.procctl(_int(idtype), pid, _int(cmd), value)
            return 0

        return self._call(run)

    # --- sysctl and modules ------------------------------------------------------------
    def sysctlbyname(self, name: Any, oldp: Any, oldlenp: Any, newp: Any,
                     newlen: Any) -> int:
        """kern_sysctl.c: ENOENT for a missing name; ENOMEM when the old buffer is
        too small; a NULL oldp asks only for the size. Known here: the jail
        parameter nodes (security.jail.param.<name>), vfs.devfs.rule_depth
        (devfs_devs.c, unsigned int), kern.racct.enable (kern_racct.c, int) and
        kern.osreldate (kern_mib.c, int; from the model's `release`)."""
        def run() -> int:
            if newp is not None or _int(newlen):
                raise _Fail(errno.EPERM)
            key = _cstring(name).decode()
            if key.startswith("security.jail.param."):
                param = key[len("security.jail.param."):]
                if not self.sim.registered(param):
                    raise _Fail(errno.ENOENT)
                data = bytes(4)  # the node's value: its size (kern_jail.c sysctl_jail_param)
            elif key == "vfs.devfs.rule_depth":
                data = struct.pack("=I", self.sim.devfs_rule_depth())
            elif key == "kern.racct.enable":
                data = struct.pack("=i", 1 if self.sim.snapshot()["config"]["racct"] else 0)
            elif key == "kern.osreldate":
                data = struct.pack("=i", OSRELDATE[int(self.sim.snapshot()["config"]
                                                       .get("release", 14))])
            else:
                raise _Fail(errno.ENOENT)
            return _copy_out(data, oldp, oldlenp)

        return self._call(run)

    def sysctl(self, name: Any, namelen: Any, oldp: Any, oldlenp: Any, newp: Any,
               newlen: Any) -> int:
        """sysctl(3) by MIB. Known: {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid}
        (kern_proc.c sysctl_kern_proc: EINVAL unless exactly one name after
        KERN_PROC_PID; `pget` ESRCH for no such pid, zombies found; one struct
        kinfo_proc copied out, ENOMEM into a shorter buffer). The simulated
        host's processes are this Linux host's: ki_pid, ki_start and ki_stat
        come from /proc/<pid>/stat (a process in exit or a zombie is SZOMB)."""
        def run() -> int:
            from pyocijail.backends.freebsd import procinfo

            count = _int(namelen)
            at = _address(name)
            if at is None:
                raise _Fail(errno.EFAULT)
            mib = list((ctypes.c_int * count).from_address(at))
            if mib[:3] != [procinfo.CTL_KERN, procinfo.KERN_PROC, procinfo.KERN_PROC_PID]:
                raise _Fail(errno.ENOENT)
            if count != 4:
                raise _Fail(errno.EINVAL)
            if newp is not None or _int(newlen):
                raise _Fail(errno.EPERM)
            data = _kinfo_proc(mib[3])
            return _copy_out(data, oldp, oldlenp)

        return self._call(run)

    # --- network: lib/libc/net/if_nametoindex.c ---------------------------------------
    def if_nametoindex(self, name: Any) -> int:
        """The interface's index in the caller's (the host's) network stack; 0 and
        ENXIO when there is none of that name, e.g. one moved into a vnet jail that
        has not come back yet."""
        wanted = _cstring(name).decode()
        if not self.sim.host_interface(wanted):
            ctypes.set_errno(errno.ENXIO)
            return 0
        ctypes.set_errno(0)
        return int(self.sim.snapshot()["config"]["interfaces"].index(wanted)) + 1

    def kldload(self, file: Any) -> int:
        """kern_linker.c kern_kldload: a file id, EEXIST when loaded, ENOENT when absent."""
        return self._call(lambda: self.sim.kldload(_cstring(file).decode()))


KINFO_PROC_SIZE = 1088  # sys/sys/user.h, amd64 and arm64


def _kinfo_proc(pid: int) -> bytes:
    from pyocijail.backends.freebsd import procinfo

    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        raise _Fail(errno.ESRCH) from None
    fields = stat[stat.rfind(b")") + 2:].split()
    with open("/proc/stat", "rb") as f:
        btime = next(int(line.split()[1]) for line in f if line.startswith(b"btime "))
    hz = os.sysconf("SC_CLK_TCK")
    ticks = int(fields[19])
    buf = ctypes.create_string_buffer(KINFO_PROC_SIZE)
    info = procinfo.KinfoProcHead.from_buffer(buf)
    info.ki_structsize = KINFO_PROC_SIZE
    info.ki_pid = pid
    info.ki_start.tv_sec = btime + ticks // hz
    info.ki_start.tv_usec = (ticks % hz) * 1000000 // hz
    exiting = fields[0] in (b"Z", b"X") or int(fields[6]) & 0x4  # PF_EXITING
    info.ki_stat = bytes([procinfo.SZOMB if exiting else 2])  # SRUN
    return buf.raw


def _fill(info: Mounted, address: int | None) -> int:
    """One struct statfs at `address`, as vfs_syscalls.c kern_do_statfs leaves it
    (zeroed, then the version, fsid and names; the names NUL-terminated)."""
    if address is None:
        raise _Fail(errno.EFAULT)
    ctypes.memset(address, 0, ctypes.sizeof(Statfs))
    out = Statfs.from_address(address)
    out.f_version = STATFS_VERSION
    out.f_fsid[0], out.f_fsid[1] = info.fsid
    out.f_fstypename = info.fstype.encode()[:MFSNAMELEN - 1]
    out.f_mntfromname = info.source.encode(errors="surrogateescape")[:MNAMELEN - 1]
    out.f_mntonname = info.target.encode(errors="surrogateescape")[:MNAMELEN - 1]
    return 0


def _detail(err: KernelError) -> str:
    """The model's message, without the `op path: ` prefix KernelError adds."""
    text = str(err)
    prefix = " ".join(p for p in (err.op, err.path) if p) + ": "
    return text.removeprefix(prefix)


def _copy_out(data: bytes, oldp: Any, oldlenp: Any) -> int:
    """sysctl's copy-out (kern_sysctl.c sysctl_old_user): the length always
    written back, the value only into a buffer large enough (ENOMEM if not)."""
    size_at = _address(oldlenp)
    if size_at is None:
        raise _Fail(errno.EFAULT)
    size = ctypes.c_size_t.from_address(size_at)
    old = _address(oldp)
    if old is not None:
        if size.value < len(data):
            raise _Fail(errno.ENOMEM)
        ctypes.memmove(old, data, len(data))
    size.value = len(data)
    return 0
