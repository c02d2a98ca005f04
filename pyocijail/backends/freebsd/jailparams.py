# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""FreeBSD 14 jail parameters as data: names, types, allowed values, and why.

Shared by plan validation (so a bad config fails before any side effect) and
by the simulated kernel (so it rejects exactly what jail_set(2) rejects).
Each entry notes the jail(8)/kern_jail.c fact it encodes. Values are Python
values: `bool` for booleans, `int` for C ints, `str` for strings and for the
"jailsys" enums (`disable`/`new`/`inherit`), lists of numeric address
strings for `ip4.addr`/`ip6.addr`. `libc.py` turns them into iovecs.
"""

import errno

from pyocijail import values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAXHOSTNAMELEN = 256  # sys/param.h; strings include the NUL
MAXPATHLEN = 1024
HOSTUUIDLEN = 64
OSRELEASELEN = 32
LINUX_MAX_UTSNAME = 65  # sys/compat/linux/linux.h: Linux's struct utsname fields

#: jailsys values as jail_set(2) takes them (sys/jail.h JAIL_SYS_*).
JAILSYS = {"disable": 0, "new": 1, "inherit": 2}


@values.frozen
class JailParam:
    name: str
    type: str  # int | bool | string | jailsys | ip4 | ip6 | ulong
    values: tuple[str, ...] = ()  # jailsys: accepted values
    min: int | None = None
    max: int | None = None
    maxlen: int | None = None  # strings: bytes including the NUL
    readonly: bool = False  # jail_get only; jail_set does not consume it
    note: str = ""


def _p(name: str, type_: str, note: str, **kw: "Any") -> "JailParam":
    return JailParam(name=name, type=type_, note=note, **kw)


_SYS3 = ("disable", "new", "inherit")

PARAMS: "tuple[JailParam, ...]" = (
    _p("jid", "int", "jail(8): the jail identifier; negative is EINVAL", min=0),
    _p("name", "string", "jail(8): hierarchical with '.'; > MAXHOSTNAMELEN is ENAMETOOLONG",
       maxlen=MAXHOSTNAMELEN),
    _p("path", "string", "jail(8): directory the jail is chrooted to; fixed after creation",
       maxlen=MAXPATHLEN),
    _p("ip4.addr", "ip4", "jail(8): IPv4 list; passed as a packed in_addr array"),
    _p("ip4.saddrsel", "bool", "jail(8): source address selection"),
    _p("ip4", "jailsys", "jail(8): disable | new | inherit; fixed after creation", values=_SYS3),
    _p("ip6.addr", "ip6", "jail(8): IPv6 list; passed as a packed in6_addr array"),
    _p("ip6.saddrsel", "bool", "jail(8): source address selection"),
    _p("ip6", "jailsys", "jail(8): disable | new | inherit; fixed after creation", values=_SYS3),
    _p("vnet", "jailsys", "jail(8): new | inherit only (no disable: EINVAL)",
       values=("new", "inherit")),
    _p("host", "jailsys", "jail(8): new | inherit only (no disable: EINVAL)",
       values=("new", "inherit")),
    _p("host.hostname", "string", "jail(8): > MAXHOSTNAMELEN is ENAMETOOLONG",
       maxlen=MAXHOSTNAMELEN),
    _p("host.domainname", "string", "jail(8): NIS domain name", maxlen=MAXHOSTNAMELEN),
    _p("host.hostuuid", "string", "jail(8): host UUID", maxlen=HOSTUUIDLEN),
    _p("host.hostid", "ulong", "jail(8): host id (unsigned long)", min=0),
    _p("securelevel", "int", "jail(8): C int; below the parent's level is EPERM"),
    _p("devfs_ruleset", "int", "kern_jail.c: devfs_rsnum is a uint16_t, else EINVAL",
       min=0, max=65535),
    _p("children.max", "int", "jail(8): child jail limit; >= the parent's own is EPERM", min=0),
    _p("children.cur", "int", "jail(8): read-only count of child jails", readonly=True),
    _p("enforce_statfs", "int", "kern_jail.c: enforce < 0 || enforce > 2 is EINVAL",
       min=0, max=2),
    _p("persist", "bool", "kern_jail.c: a new jail must persist or attach (EINVAL)"),
    _p("dying", "bool", "jail(8): read-only", readonly=True),
    _p("parent", "int", "jail(8): read-only jid of the parent", readonly=True),
    _p("cpuset.id", "int", "jail(8): read-only cpuset of the jail", readonly=True),
    _p("osrelease", "string", "kern_jail.c: with its NUL below OSRELEASELEN (32), else "
       "ENAMETOOLONG: at most 30 characters", maxlen=OSRELEASELEN - 1),
    _p("osreldate", "int", "jail(8): fixed after creation; 0 is EINVAL", min=1),
    _p("sysvmsg", "jailsys", "jail(8): SysV message queues", values=_SYS3),
    _p("sysvsem", "jailsys", "jail(8): SysV semaphores", values=_SYS3),
    _p("sysvshm", "jailsys", "jail(8): SysV shared memory", values=_SYS3),
    _p("linux", "jailsys", "linux(4) module: new | inherit", values=("new", "inherit")),
    _p("linux.osname", "string", "linux_mib.c: LINUX_MAX_UTSNAME bytes",
       maxlen=LINUX_MAX_UTSNAME),
    _p("linux.osrelease", "string", "linux_mib.c: LINUX_MAX_UTSNAME bytes",
       maxlen=LINUX_MAX_UTSNAME),
    _p("linux.oss_version", "int", "linux(4) module"),
)

#: `allow.*` booleans of FreeBSD 14 (jail(8) "allow." list).
ALLOW = (
    "set_hostname", "sysvipc", "raw_sockets", "chflags", "mount", "quotas", "socket_af",
    "mlock", "nfsd", "reserved_ports", "read_msgbuf", "unprivileged_proc_debug",
    "unprivileged_parent_tampering", "suser", "extattr", "adjtime", "settime", "routing",
    "setaudit", "vmm",
)
#: `allow.mount.<fs>`: the jail-friendly file systems jail(8) lists.
MOUNT_FS = ("devfs", "fdescfs", "fusefs", "linprocfs", "linsysfs", "nullfs", "procfs",
            "tmpfs", "zfs")
#: kern_jail.c PR_ALLOW_DIFFERENCES: the only permissions a child may have that its
#: parent lacks. Every other one is EPERM.
ALLOW_DIFFERENCES = ("allow.unprivileged_proc_debug", "allow.unprivileged_parent_tampering")

TABLE: "dict[str, JailParam]" = {p.name: p for p in PARAMS}
for _a in ALLOW:
    TABLE[f"allow.{_a}"] = _p(f"allow.{_a}", "bool", "jail(8): allow.* permission")
for _fs in MOUNT_FS:
    TABLE[f"allow.mount.{_fs}"] = _p(f"allow.mount.{_fs}", "bool",
                                     "jail(8): needs allow.mount and enforce_statfs < 2")


def check(name: str, value: "Any") -> tuple[int, str] | None:
    """(errno, why) when jail_set(2) would reject `name=value`, else None."""
    param = TABLE.get(name)
    if param is None or param.readonly:
        return errno.EINVAL, f"unknown parameter: {name}"
    kind = param.type
    if kind == "bool":
        if not isinstance(value, bool):
            return errno.EINVAL, f"{name}: expected a boolean, got {value!r}"
    elif kind in ("int", "ulong"):
        if isinstance(value, bool) or not isinstance(value, int):
            return errno.EINVAL, f"{name}: expected an integer, got {value!r}"
        lo = param.min
        hi = param.max
        if kind == "int":
            lo = -(2**31) if lo is None else lo
            hi = 2**31 - 1 if hi is None else hi
        else:
            hi = 2**64 - 1 if hi is None else hi
        if (lo is not None and value < lo) or value > hi:
            return errno.EINVAL, f"{name}: {value} out of range"
    elif kind == "string":
        if not isinstance(value, str) or "\0" in value:
            return errno.EINVAL, f"{name}: expected a string, got {value!r}"
        if param.maxlen is not None and len(value.encode()) + 1 > param.maxlen:
            return errno.ENAMETOOLONG, f"{name}: longer than {param.maxlen - 1} bytes"
    elif kind == "jailsys":
        if value not in param.values:
            return errno.EINVAL, f"{name}: {value!r} is not one of {', '.join(param.values)}"
    elif kind in ("ip4", "ip6"):
        return _check_addresses(name, kind, value)
    return None


#: kern_jail.c security.jail.jail_max_af_ips (default 255): longer lists are EINVAL.
MAX_AF_IPS = 255


def _check_addresses(name: str, kind: str, value: "Any") -> tuple[int, str] | None:
    if not isinstance(value, (list, tuple)):
        return errno.EINVAL, f"{name}: expected a list of addresses"
    if len(value) > MAX_AF_IPS:
        return errno.EINVAL, f"{name}: more than {MAX_AF_IPS} addresses (jail_max_af_ips)"
    import ipaddress  # only to check addresses (create), not on delete

    cls = ipaddress.IPv4Address if kind == "ip4" else ipaddress.IPv6Address
    seen = set()
    for text in value:
        try:
            addr = cls(text)
        except (ipaddress.AddressValueError, ValueError, TypeError):
            return errno.EINVAL, f"{name}: {text!r} is not an {kind[:2].upper()}v{kind[2]} address"
        # kern_jail.c: INADDR_ANY, INADDR_BROADCAST, :: and duplicates are EINVAL.
        if addr.is_unspecified or (kind == "ip4" and str(addr) == "255.255.255.255"):
            return errno.EINVAL, f"{name}: {text} cannot be assigned to a jail"
        if addr in seen:
            return errno.EINVAL, f"{name}: duplicate address {text}"
        seen.add(addr)
    return None


def noname(name: str) -> str:
    """jail(8)'s false form of a boolean: `no` before the last component."""
    head, dot, last = name.rpartition(".")
    return f"{head}{dot}no{last}"
