# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""LibcKernel: the real JailKernel on FreeBSD, through ctypes and base tools.

jail_set(2)/jail_get(2)/nmount(2) take name/value iovec pairs; they are
built in ONE helper, `build_iovec`, from values encoded by `encode_param`
(C int for ints and jailsys, `name`/`noname` with no value for booleans,
NUL-terminated strings, packed in_addr/in6_addr arrays for addresses).
libc is loaded lazily so this module imports on Linux, where the pure parts
are unit-tested. Tools are run by absolute path with an empty environment:
podman runs `delete` with no PATH at all.
"""

import ctypes
import errno
import posix  # not os (~2 ms): delete and kill --all load this module
import struct

from pyocijail.backends.freebsd import jailparams
from pyocijail.backends.freebsd.kernel import MNT_FLAGS, SYSV_PARAMS, Mounted
from pyocijail.errors import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEVFS = "/sbin/devfs"
RCTL = "/usr/bin/rctl"
CPUSET = "/usr/bin/cpuset"  # usr.bin/cpuset: not in /bin
IFCONFIG = "/sbin/ifconfig"
UMOUNT = "/sbin/umount"  # not used: unmount(2) is called directly
PS = "/bin/ps"
#: the base tools by name; `LibcKernel(tools=...)` points them elsewhere (tests).
TOOLS = {"devfs": DEVFS, "rctl": RCTL, "cpuset": CPUSET, "ifconfig": IFCONFIG, "ps": PS}

JAIL_CREATE, JAIL_UPDATE = 0x01, 0x02  # sys/jail.h
ERRMSG_LEN = 256


class Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


MFSNAMELEN, MNAMELEN = 16, 1024  # sys/sys/mount.h
MNT_NOWAIT = 2  # getfsstat(2) mode: no file system is asked to refresh


class Statfs(ctypes.Structure):
    """struct statfs of FreeBSD 12+ (STATFS_VERSION 0x20140518), as in 14.x
    sys/sys/mount.h: 2344 bytes on every architecture (fixed-width fields)."""

    _fields_ = [
        ("f_version", ctypes.c_uint32), ("f_type", ctypes.c_uint32),
        ("f_flags", ctypes.c_uint64), ("f_bsize", ctypes.c_uint64),
        ("f_iosize", ctypes.c_uint64), ("f_blocks", ctypes.c_uint64),
        ("f_bfree", ctypes.c_uint64), ("f_bavail", ctypes.c_int64),
        ("f_files", ctypes.c_uint64), ("f_ffree", ctypes.c_int64),
        ("f_syncwrites", ctypes.c_uint64), ("f_asyncwrites", ctypes.c_uint64),
        ("f_syncreads", ctypes.c_uint64), ("f_asyncreads", ctypes.c_uint64),
        ("f_nvnodelistsize", ctypes.c_uint32), ("f_spare0", ctypes.c_uint32),
        ("f_spare", ctypes.c_uint64 * 9),
        ("f_namemax", ctypes.c_uint32), ("f_owner", ctypes.c_uint32),  # uid_t
        ("f_fsid", ctypes.c_int32 * 2),  # fsid_t: int32_t val[2]
        ("f_charspare", ctypes.c_char * 80),
        ("f_fstypename", ctypes.c_char * MFSNAMELEN),
        ("f_mntfromname", ctypes.c_char * MNAMELEN),
        ("f_mntonname", ctypes.c_char * MNAMELEN),
    ]

    def mounted(self) -> "Mounted":
        return Mounted(fsid=(int(self.f_fsid[0]), int(self.f_fsid[1])),
                       fstype=self.f_fstypename.decode(errors="surrogateescape"),
                       source=self.f_mntfromname.decode(errors="surrogateescape"),
                       target=self.f_mntonname.decode(errors="surrogateescape"))


class Rlimit(ctypes.Structure):
    """struct rlimit (sys/sys/resource.h): rlim_cur and rlim_max, two rlim_t
    (int64_t)."""

    _fields_ = [("rlim_cur", ctypes.c_int64), ("rlim_max", ctypes.c_int64)]


#: a value slot: bytes to pass, None for "no value", or an int = output buffer size.
Slot = bytes | int | None


def encode_param(name: str, value: "Any") -> tuple[bytes, bytes | None]:
    """One jail parameter as (name, value) bytes for jail_set(2)."""
    import socket
    param = jailparams.TABLE.get(name)
    if param is None:
        raise KernelError("jail_set", errno.EINVAL, name, detail=f"unknown parameter: {name}")
    kind = param.type
    if kind == "bool":
        # vfs_flagopt: the name alone means true, "no" + last component false.
        return (name if value else jailparams.noname(name)).encode() + b"\0", None
    key = name.encode() + b"\0"
    if kind == "int":
        return key, struct.pack("=i", value)
    if kind == "ulong":
        # kern_jail.c copies host.hostid into an unsigned long: 8 bytes on LP64,
        # and vfs_copyopt refuses any other length (EINVAL). Native size, not "=L".
        return key, struct.pack("@L", value)
    if kind == "jailsys":
        return key, struct.pack("=i", jailparams.JAILSYS[value])
    if kind == "string":
        return key, value.encode() + b"\0"
    if kind == "ip4":
        return key, b"".join(socket.inet_pton(socket.AF_INET, a) for a in value)
    if kind == "ip6":
        return key, b"".join(socket.inet_pton(socket.AF_INET6, a) for a in value)
    raise AssertionError(kind)


def build_iovec(pairs: "list[tuple[bytes, Slot]]") -> "tuple[Any, list[Any]]":
    """The iovec array for name/value pairs, and the buffers it points into.

    Names are passed with their NUL; a None value is (NULL, 0); an int value
    is a zeroed output buffer of that size (jail_get, errmsg).
    """
    iov = (Iovec * (2 * len(pairs)))()
    keep: list[Any] = []
    for i, (key, value) in enumerate(pairs):
        kbuf = ctypes.create_string_buffer(key, len(key))
        keep.append(kbuf)
        iov[2 * i].iov_base = ctypes.cast(kbuf, ctypes.c_void_p)
        iov[2 * i].iov_len = len(key)
        if value is None:
            iov[2 * i + 1].iov_base = None
            iov[2 * i + 1].iov_len = 0
            continue
        if isinstance(value, int):
            vbuf = ctypes.create_string_buffer(value)
            size = value
        else:
            vbuf = ctypes.create_string_buffer(value, len(value))
            size = len(value)
        keep.append(vbuf)
        iov[2 * i + 1].iov_base = ctypes.cast(vbuf, ctypes.c_void_p)
        iov[2 * i + 1].iov_len = size
    return iov, keep


def nmount_args(fstype: str, source: str, target: str, flags: int,
                data: dict[str, str | None]) -> "tuple[list[tuple[bytes, Slot]], int]":
    """nmount(2)'s name/value pairs and its `int flags` argument.

    sys_nmount copies the int into a uint64_t, so a flag at bit 31
    (MNT_NOCLUSTERW) would sign-extend into bits 32-63 (MNT_SUJ, MNT_UNTRUSTED,
    ...). Such flags go as their option names instead, which vfs_donmount
    turns back into the same bits (sys/kern/vfs_mount.c).
    """
    pairs: list[tuple[bytes, Slot]] = [
        (b"fstype\0", fstype.encode() + b"\0"),
        (b"fspath\0", target.encode() + b"\0"),
        (b"target\0" if fstype == "nullfs" else b"from\0", source.encode() + b"\0"),
    ]
    for name, bit in MNT_FLAGS.items():
        if bit >= 1 << 31 and flags & bit:
            pairs.append((name.encode() + b"\0", None))
            flags &= ~bit
    for key, value in data.items():
        pairs.append((key.encode() + b"\0",
                      None if value is None else value.encode() + b"\0"))
    return pairs, flags


def _errmsg(keep: "list[Any]") -> str:
    return bytes(keep[-1].raw).split(b"\0", 1)[0].decode(errors="replace")


#: strerror texts, and the messages tools print instead of one: rctl(8) answers
#: ENOSYS from the kernel with its own words (usr.bin/rctl/rctl.c enosys()),
#: RACCT/RCTL being compiled into GENERIC but off until kern.racct.enable=1.
_ERRNO_BY_TEXT = {
    **{posix.strerror(e): e for e in errno.errorcode},
    "RACCT/RCTL present, but disabled": errno.ENOSYS,
    "RACCT/RCTL support not present in kernel": errno.ENOSYS,
    # ifconfig(8) answers ENXIO from SIOCGIFFLAGS with "interface <if> does not exist"
    # (sbin/ifconfig/ifconfig.c), not with strerror.
    "does not exist": errno.ENXIO,
    # ifconfig(8) `vnet`/`-vnet` resolve the jail with jail_getid (lib/libjail/
    # jail_getid.c), which passes on kern_jail.c's errmsg for ENOENT: "jail <jid> not
    # found" or "jail <jid> is dying"; setifvnet/setifrvnet errx it, no strerror.
    " not found": errno.ENOENT,
    " is dying": errno.ENOENT,
}


def tool_errno(text: str) -> int | None:
    """The errno a tool's stderr names; the longest matching text wins, so
    "Operation not supported by device" (ENODEV) is not read as EOPNOTSUPP."""
    matches = [t for t in _ERRNO_BY_TEXT if t in text]
    return _ERRNO_BY_TEXT[max(matches, key=len)] if matches else None


def run_tool(op: str, argv: list[str]) -> str:
    """Run a base-system tool and return its output; a failure (or a missing tool)
    becomes KernelError with the errno it printed.

    posix_spawn and two pipes, not `subprocess` (which loads `signal`,
    `selectors`, `threading`, `locale`, ... : ~45 modules on every delete and
    `kill --all`, which list the jail's processes with ps). stdin is /dev/null,
    the environment empty (podman runs `delete` with no PATH at all)."""
    import select  # (a small C module)

    out_r, out_w = posix.pipe()
    err_r, err_w = posix.pipe()
    try:
        actions = [(posix.POSIX_SPAWN_OPEN, 0, "/dev/null", posix.O_RDONLY, 0),
                   (posix.POSIX_SPAWN_DUP2, out_w, 1), (posix.POSIX_SPAWN_DUP2, err_w, 2)]
        try:
            pid = posix.posix_spawn(argv[0], argv, {}, file_actions=actions)
        except OSError as err:  # the tool itself is missing or not executable
            raise KernelError(op, err.errno, argv[0], detail=err.strerror) from None
        posix.close(out_w)
        posix.close(err_w)
        out_w = err_w = -1
        chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
        open_fds = [out_r, err_r]
        while open_fds:
            ready, _, _ = select.select(open_fds, [], [])
            for fd in ready:
                data = posix.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    open_fds.remove(fd)
        _, status = posix.waitpid(pid, 0)
    finally:
        for fd in (out_r, out_w, err_r, err_w):
            if fd >= 0:
                posix.close(fd)
    code = posix.waitstatus_to_exitcode(status)
    stdout = b"".join(chunks[out_r]).decode(errors="replace")
    stderr = b"".join(chunks[err_r]).decode(errors="replace")
    if code != 0:
        text = stderr.strip() or f"exit status {code}"
        raise KernelError(op, tool_errno(text), argv[-1], detail=text)
    return stdout


#: The C library LibcKernel loads by default.
LIBC_SONAME = "libc.so.7"


class LibcKernel:
    """`libc` is the C library to call (default: this host's libc.so.7, loaded on
    first use); `tools` maps tool names (`TOOLS`) to other paths. Tests pass
    fakes of both (see docs/freebsd.md, "Tests"); production passes neither."""

    def __init__(self, libc: "Any" = None, tools: dict[str, str] | None = None) -> None:
        self._libc: Any = libc
        self.tools = {**TOOLS, **(tools or {})}

    @property
    def libc(self) -> "Any":
        if self._libc is None:
            import ctypes

            # By soname, not ctypes.util.find_library: on FreeBSD that imports
            # subprocess, shutil and re and runs `ldconfig -r` on every delete and
            # kill --all. libc's SHLIB_MAJOR has been 7 since FreeBSD 7.0
            # (lib/libc/Makefile).
            self._libc = ctypes.CDLL(LIBC_SONAME, use_errno=True)
            # unsigned int if_nametoindex(const char *) (net/if.h): without a
            # prototype ctypes would read the result as a signed int.
            self._libc.if_nametoindex.restype = ctypes.c_uint
            self._libc.if_nametoindex.argtypes = [ctypes.c_char_p]
        return self._libc

    def _call(self, op: str, path: str | None, fn: str, *args: "Any",
              keep: "list[Any] | None" = None) -> int:
        result = int(getattr(self.libc, fn)(*args))
        if result == -1:
            err = ctypes.get_errno()
            detail = (_errmsg(keep) or None) if keep else None
            raise KernelError(op, err, path, detail=detail)
        return result

    # --- jails -------------------------------------------------------------------
    def jail_set(self, params: "dict[str, Any]", *, create: bool) -> int:
        for name in params:
            if name.startswith("allow.mount."):
                self._load_module_of(name)
        pairs: list[tuple[bytes, Slot]] = [encode_param(k, v) for k, v in params.items()]
        pairs.append((b"errmsg\0", ERRMSG_LEN))
        iov, keep = build_iovec(pairs)
        return self._call("jail_set", params.get("name"), "jail_set", iov,
                          ctypes.c_uint(len(pairs) * 2),
                          ctypes.c_int(JAIL_CREATE if create else JAIL_UPDATE), keep=keep)

    def _registered(self, name: str) -> bool:
        """Whether the kernel has jail parameter `name` now: its sysctl node
        security.jail.param.<name> exists (what libjail's jailparam_type asks)."""
        size = ctypes.c_size_t(0)
        try:
            self._call("sysctl", name, "sysctlbyname",
                       f"security.jail.param.{name}".encode(), None, ctypes.byref(size),
                       None, ctypes.c_size_t(0))
        except KernelError as err:
            if err.errno == errno.ENOENT:
                return False
            raise
        return True

    def _load_module_of(self, name: str) -> None:
        """allow.mount.<fs> exists only once <fs> is registered (kern_jail.c
        prison_add_vfs); load its module first, as lib/libjail/jail.c
        kldload_param does. EEXIST (loaded, still no such parameter) and any
        failure are left to jail_set, which then names the unknown parameter."""
        import contextlib
        if self._registered(name):
            return
        module = name[len("allow.mount."):]
        with contextlib.suppress(KernelError):
            self._call("kldload", module, "kldload", module.encode())

    def _get(self, key: tuple[bytes, bytes], wanted: dict[str, int],
             label: str) -> dict[str, bytes]:
        pairs: list[tuple[bytes, Slot]] = [key]
        pairs += [(n.encode() + b"\0", size) for n, size in wanted.items()]
        pairs.append((b"errmsg\0", ERRMSG_LEN))
        iov, keep = build_iovec(pairs)
        # `label` names the jail in an error: the key's value may be a packed int.
        self._call("jail_get", label, "jail_get", iov,
                   ctypes.c_uint(len(pairs) * 2), ctypes.c_int(0), keep=keep)
        # keep: key name, key value, then (name, value) per wanted, then errmsg.
        return {n: bytes(keep[3 + 2 * i].raw) for i, n in enumerate(wanted)}

    def jail_get(self, name: str) -> "dict[str, Any]":
        """One jail_get(2) with every parameter this kernel has: allow.mount.<fs>
        only while <fs> is loaded, the SysV ones only with that facility."""
        ints = ("jid", "parent", "children.max", "children.cur", "enforce_statfs",
                "securelevel")
        optional = [*SYSV_PARAMS, *(f"allow.{a}" for a in jailparams.ALLOW),
                    *(f"allow.mount.{fs}" for fs in jailparams.MOUNT_FS)]
        present = [n for n in optional if self._registered(n)]
        raw = self._get((b"name\0", name.encode() + b"\0"),
                        {**{n: 4 for n in ints}, "path": jailparams.MAXPATHLEN,
                         **{n: 4 for n in present}}, name)
        out: dict[str, Any] = {n: struct.unpack("=i", raw[n])[0] for n in ints}
        out["path"] = raw["path"].split(b"\0", 1)[0].decode()
        out["name"] = name
        sysv_names = {v: k for k, v in jailparams.JAILSYS.items()}
        for key in present:
            value = struct.unpack("=i", raw[key])[0]
            out[key] = sysv_names.get(value, "disable") if key in SYSV_PARAMS else value != 0
        return out

    def jail_attach(self, jid: int) -> None:
        self._call("jail_attach", str(jid), "jail_attach", ctypes.c_int(jid))

    def jail_remove(self, jid: int) -> None:
        self._call("jail_remove", str(jid), "jail_remove", ctypes.c_int(jid))

    def procctl(self, idtype: int, ident: int, cmd: int, data: int) -> None:
        # int procctl(idtype_t, id_t, int, void *): id_t is 64-bit (sys/_types.h
        # __id_t is __int64_t); PROC_TRACE_CTL reads an int through the pointer.
        value = ctypes.c_int(data)
        self._call("procctl", str(ident), "procctl", ctypes.c_int(idtype),
                   ctypes.c_int64(ident), ctypes.c_int(cmd), ctypes.byref(value))

    def _jails(self) -> dict[int, int]:
        """jid -> parent jid of every jail, walking jail_get(2) with lastjid."""
        out: dict[int, int] = {}
        last = 0
        while True:
            try:
                raw = self._get((b"lastjid\0", struct.pack("=i", last)),
                                {"jid": 4, "parent": 4}, f"lastjid={last}")
            except KernelError as err:
                if err.errno == errno.ENOENT:
                    return out
                raise
            last = struct.unpack("=i", raw["jid"])[0]
            out[last] = struct.unpack("=i", raw["parent"])[0]

    def jail_pids(self, jid: int) -> list[int]:
        jails = self._jails()
        wanted = {jid}
        grew = True
        while grew:
            more = {j for j, p in jails.items() if p in wanted} - wanted
            grew = bool(more)
            wanted |= more
        # Through run_tool: a failing or missing ps is a KernelError naming it.
        out = run_tool("ps", [self.tools["ps"], "-a", "-x", "-o", "pid=,jid="])
        pids = []
        for line in out.splitlines():
            fields = line.split()
            if len(fields) == 2 and int(fields[1]) in wanted:
                pids.append(int(fields[0]))
        return sorted(pids)

    # --- file systems ---------------------------------------------------------------
    def nmount(self, fstype: str, source: str, target: str, flags: int,
               data: dict[str, str | None]) -> None:
        pairs, cflags = nmount_args(fstype, source, target, flags, data)
        pairs.append((b"errmsg\0", ERRMSG_LEN))
        iov, keep = build_iovec(pairs)
        self._call("nmount", target, "nmount", iov, ctypes.c_uint(len(pairs) * 2),
                   ctypes.c_int(cflags), keep=keep)

    def unmount(self, target: str, flags: int) -> None:
        self._call("unmount", target, "unmount", target.encode(), ctypes.c_int(flags))

    def statfs(self, path: str) -> "Mounted":
        buf = Statfs()
        self._call("statfs", path, "statfs", path.encode(), ctypes.byref(buf))
        return buf.mounted()

    def getfsstat(self) -> "list[Mounted]":
        # int getfsstat(struct statfs *buf, long bufsize, int mode): NULL counts.
        # Spare slots for mounts made between the two calls (beyond 16 the kernel
        # fills what fits); the second count is what it filled.
        count = self._call("getfsstat", None, "getfsstat", None, ctypes.c_long(0),
                           ctypes.c_int(MNT_NOWAIT))
        bufs = (Statfs * (count + 16))()
        filled = self._call("getfsstat", None, "getfsstat", bufs,
                            ctypes.c_long(ctypes.sizeof(bufs)), ctypes.c_int(MNT_NOWAIT))
        return [bufs[i].mounted() for i in range(filled)]

    def devfs_rule_apply(self, mountpoint: str, rule: str) -> None:
        run_tool("devfs rule apply",
                 [self.tools["devfs"], "-m", mountpoint, "rule", "apply", *rule.split()])

    def devfs_ruleset_rules(self, number: int) -> list[str]:
        if not 1 <= number <= 65535:
            raise ValueError(f"devfs ruleset {number}: only 1..65535 can be shown by number")
        out = run_tool("devfs rule show",
                       [self.tools["devfs"], "-m", "/dev", "rule", "-s", str(number), "show"])
        return [line.strip() for line in out.splitlines() if line.strip()]

    def devfs_rule_depth(self) -> int:
        # devfs_devs.c: SYSCTL_UINT(_vfs_devfs, rule_depth), an unsigned int.
        value, size = ctypes.c_uint(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_uint))
        self._call("sysctl", "vfs.devfs.rule_depth", "sysctlbyname", b"vfs.devfs.rule_depth",
                   ctypes.byref(value), ctypes.byref(size), None, ctypes.c_size_t(0))
        return value.value

    def host_path(self, path: str) -> str:
        return path

    # --- resources and network ---------------------------------------------------------
    def racct_enabled(self) -> bool:
        value, size = ctypes.c_int(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_int))
        try:
            self._call("sysctl", "kern.racct.enable", "sysctlbyname", b"kern.racct.enable",
                       ctypes.byref(value), ctypes.byref(size), None, ctypes.c_size_t(0))
        except KernelError as err:
            if err.errno == errno.ENOENT:  # a kernel built without RACCT
                return False
            raise
        return value.value != 0

    def osreldate(self) -> int:
        """sysctl kern.osreldate (kern_mib.c, an int: __FreeBSD_version)."""
        value, size = ctypes.c_int(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_int))
        self._call("sysctl", "kern.osreldate", "sysctlbyname", b"kern.osreldate",
                   ctypes.byref(value), ctypes.byref(size), None, ctypes.c_size_t(0))
        return value.value

    def rctl_add(self, rule: str) -> None:
        run_tool("rctl -a", [self.tools["rctl"], "-a", rule])

    def rctl_remove(self, rule_filter: str) -> None:
        run_tool("rctl -r", [self.tools["rctl"], "-r", rule_filter])

    def cpuset(self, jid: int, cpus: str) -> None:
        run_tool("cpuset -j", [self.tools["cpuset"], "-j", str(jid), "-l", cpus])

    def ifconfig_alias(self, interface: str, address: str, *, add: bool) -> None:
        family = "inet6" if ":" in address else "inet"
        if add:
            prefix = "/128" if family == "inet6" else "/32"
            argv = [self.tools["ifconfig"], interface, family, address + prefix, "alias"]
        else:
            argv = [self.tools["ifconfig"], interface, family, address, "-alias"]
        run_tool("ifconfig", argv)

    def ifconfig_vnet(self, interface: str, jid: int) -> None:
        run_tool("ifconfig vnet", [self.tools["ifconfig"], interface, "vnet", str(jid)])

    def ifconfig_unvnet(self, interface: str, jid: int) -> None:
        run_tool("ifconfig -vnet", [self.tools["ifconfig"], interface, "-vnet", str(jid)])

    def host_interface(self, interface: str) -> bool:
        # unsigned int if_nametoindex(const char *): no ifconfig process per poll
        index = self.libc.if_nametoindex(interface.encode() + b"\0")
        if index:
            return True
        err = ctypes.get_errno()
        if err not in (0, errno.ENXIO):
            raise KernelError("if_nametoindex", err, interface)
        return False

    def setrlimit(self, resource: int, soft: int, hard: int) -> None:
        # int setrlimit(int resource, const struct rlimit *rlp)
        limit = Rlimit(soft, hard)
        self._call("setrlimit", str(resource), "setrlimit", ctypes.c_int(resource),
                   ctypes.byref(limit))

    def setgroups(self, groups: "tuple[int, ...]") -> None:
        # int setgroups(int ngroups, const gid_t *gidset); gid_t is uint32_t
        gidset = (ctypes.c_uint32 * len(groups))(*groups)
        self._call("setgroups", None, "setgroups", ctypes.c_int(len(groups)), gidset)

    def setgid(self, gid: int) -> None:
        # int setgid(gid_t gid)
        self._call("setgid", str(gid), "setgid", ctypes.c_uint32(gid))

    def setuid(self, uid: int) -> None:
        # int setuid(uid_t uid)
        self._call("setuid", str(uid), "setuid", ctypes.c_uint32(uid))

    def kill(self, pid: int, signal: int) -> None:
        try:
            posix.kill(pid, signal)
        except ProcessLookupError as err:
            raise KernelError("kill", errno.ESRCH, str(pid)) from err
