# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The narrow kernel interface the FreeBSD backend acts through.

Implemented by `libc.LibcKernel` (ctypes and absolute-path tools); the tests
run it over a fake libc and fake tools in front of a strict model of the
kernel, and use the model directly where they check it. Every failure is a `KernelError` carrying
the operation, the errno FreeBSD returns, and the path. Values of jail
parameters are typed as in `jailparams` (bool, int, str, address lists).
"""

TYPE_CHECKING = False  # not `from typing import`: delete and kill --all load this module
if TYPE_CHECKING:
    from typing import Any, Protocol
else:
    Protocol = object  # JailKernel is an interface for the type checker only

# sys/mount.h flags, by the names mount(8) uses for them.
MNT_FLAGS = {
    "ro": 0x00000001,          # MNT_RDONLY
    "sync": 0x00000002,        # MNT_SYNCHRONOUS
    "noexec": 0x00000004,      # MNT_NOEXEC
    "nosuid": 0x00000008,      # MNT_NOSUID
    "nfsv4acls": 0x00000010,   # MNT_NFS4ACLS
    "union": 0x00000020,       # MNT_UNION
    "async": 0x00000040,       # MNT_ASYNC
    "suiddir": 0x00100000,     # MNT_SUIDDIR
    "nosymfollow": 0x00400000,  # MNT_NOSYMFOLLOW
    "ignore": 0x00800000,      # MNT_IGNORE: hidden from df(1)
    "multilabel": 0x04000000,  # MNT_MULTILABEL
    "acls": 0x08000000,        # MNT_ACLS
    "noatime": 0x10000000,     # MNT_NOATIME
    "noclusterr": 0x40000000,  # MNT_NOCLUSTERR
    "noclusterw": 0x80000000,  # MNT_NOCLUSTERW
}
MNT_FORCE = 0x00080000  # unmount(2)
#: unmount(2): the path argument is "FSID:<val0>:<val1>" (vfs_mount.c kern_unmount
#: scans it with "FSID:%d:%d"); the same bit as MNT_ACLS, which only mount uses.
MNT_BYFSID = 0x08000000
#: procctl(2): sys/wait.h idtype_t P_PID; sys/procctl.h PROC_TRACE_CTL and its
#: PROC_TRACE_CTL_DISABLE (ptrace and core dumps off until the next execve).
P_PID = 0
PROC_TRACE_CTL, PROC_TRACE_CTL_DISABLE = 7, 2
#: jailsys parameters registered by the SysV IPC code (sys/kern/sysv_*.c).
SYSV_PARAMS = ("sysvmsg", "sysvsem", "sysvshm")
#: setrlimit(2) resource numbers by their runtime-spec names: sys/sys/resource.h.
#: The one table of them: `plan.process_plan` checks limits against it, and the
#: init sets exactly the plan's limits with these numbers (`FreeBSDBackend.set_rlimits`).
#: RLIMIT_AS is RLIMIT_VMEM under its other name. 14.x ends with RLIMIT_UMTXP
#: (RLIM_NLIMITS 15); main / 15.0 adds RLIMIT_PIPEBUF 15 (enforced in sys_pipe.c
#: pipespace_new; the number is the one this project has used, not re-read here).
RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3,
    "RLIMIT_CORE": 4, "RLIMIT_RSS": 5, "RLIMIT_MEMLOCK": 6, "RLIMIT_NPROC": 7,
    "RLIMIT_NOFILE": 8, "RLIMIT_SBSIZE": 9, "RLIMIT_VMEM": 10, "RLIMIT_AS": 10,
    "RLIMIT_NPTS": 11, "RLIMIT_SWAP": 12, "RLIMIT_KQUEUES": 13, "RLIMIT_UMTXP": 14,
    "RLIMIT_PIPEBUF": 15,
}
#: Limits newer than 14.x, with the first major release that has them:
#: kern_resource.c kern_proc_setrlimit answers EINVAL for a number at or past
#: RLIM_NLIMITS, so on an older kernel the plan refuses them.
RLIMITS_SINCE = {"RLIMIT_PIPEBUF": 15}
#: sys/sys/resource.h: rlim_t is int64_t and RLIM_INFINITY its largest value.
RLIM_INFINITY = 2**63 - 1


class Mounted(tuple["Any", ...]):
    """One mounted file system as statfs(2)/getfsstat(2) describe it (struct statfs:
    f_fsid, f_fstypename, f_mntfromname, f_mntonname, the global path).

    A tuple (fsid, fstype, source, target), not a `typing.NamedTuple`: `typing`
    costs more than a delete may spend (tests/unit/test_import_budget.py)."""

    __slots__ = ()

    def __new__(cls, fsid: "tuple[int, int]", fstype: str, source: str,
                target: str) -> "Mounted":
        return tuple.__new__(cls, (fsid, fstype, source, target))

    fsid = property(lambda self: self[0], doc="f_fsid")
    fstype = property(lambda self: self[1], doc="f_fstypename")
    source = property(lambda self: self[2], doc="f_mntfromname")
    target = property(lambda self: self[3], doc="f_mntonname")

    def __repr__(self) -> str:
        return (f"Mounted(fsid={self[0]!r}, fstype={self[1]!r}, source={self[2]!r}, "
                f"target={self[3]!r})")


def fsid_path(fsid: tuple[int, int] | list[int]) -> str:
    """What unmount(2) takes with MNT_BYFSID."""
    return f"FSID:{int(fsid[0])}:{int(fsid[1])}"


def mount_flags(names: tuple[str, ...] | list[str]) -> int:
    bits = 0
    for name in names:
        bits |= MNT_FLAGS[name]
    return bits


class JailKernel(Protocol):
    # --- jails ------------------------------------------------------------------
    def jail_set(self, params: "dict[str, Any]", *, create: bool) -> int:
        """jail_set(2) with JAIL_CREATE or JAIL_UPDATE (by `name`); returns the jid."""

    def jail_get(self, name: str) -> "dict[str, Any]":
        """jail_get(2) by name: jid, path, parent, children.max/cur, enforce_statfs,
        allow.*, sysvmsg/sysvsem/sysvshm (as disable/new/inherit), ...;
        KernelError ENOENT when no such (live) jail."""

    def jail_attach(self, jid: int) -> None:
        """jail_attach(2): the calling process joins the jail (chroot, vnet, ...)."""

    def jail_remove(self, jid: int) -> None:
        """jail_remove(2): kill its processes, remove it and its child jails."""

    def jail_pids(self, jid: int) -> list[int]:
        """Pids of live processes in the jail and in its descendant jails."""

    def procctl(self, idtype: int, ident: int, cmd: int, data: int) -> None:
        """procctl(2) with an `int` argument (PROC_TRACE_CTL): EBUSY when the
        process is being traced already (kern_procctl.c trace_ctl)."""

    # --- file systems -------------------------------------------------------------
    def nmount(self, fstype: str, source: str, target: str, flags: int,
               data: dict[str, str | None]) -> None:
        """nmount(2); `source` goes in `target` for nullfs, `from` otherwise."""

    def unmount(self, target: str, flags: int) -> None:
        """unmount(2); EINVAL when nothing is mounted there. With MNT_BYFSID,
        `target` is `fsid_path(fsid)`: ENOENT when no such file system, EINVAL
        when the string does not scan."""

    def statfs(self, path: str) -> "Mounted":
        """statfs(2): the file system `path` is on (links followed, as nmount does)."""

    def getfsstat(self) -> "list[Mounted]":
        """getfsstat(2) with MNT_NOWAIT: every mounted file system, in mount order."""

    def devfs_rule_apply(self, mountpoint: str, rule: str) -> None:
        """`devfs -m <mountpoint> rule apply <rule>` on one devfs mount."""

    def devfs_ruleset_rules(self, number: int) -> list[str]:
        """`devfs -m /dev rule -s <number> show`: the ruleset's rules, one
        `<rule number> <rule>` line each, for 1 <= number <= 65535. Empty both when
        the ruleset does not exist and when it holds no rules: sbin/devfs/rule.c
        rule_show stops at the ENOENT that DEVFSIO_RGETNEXT returns in either case
        (sys/fs/devfs/devfs_rule.c) and exits 0. Rulesets are global, so any devfs
        mount answers; `-s 0` would mean that mount's own ruleset
        (devfs_rid_input), hence ValueError for 0."""

    def devfs_rule_depth(self) -> int:
        """sysctl vfs.devfs.rule_depth: how many levels of `include` the kernel
        follows (default 1: an included ruleset's own includes are skipped)."""

    def host_path(self, path: str) -> str:
        """Where `path` is for plain file operations (mkdir, copy). Identity on
        FreeBSD; the simulator maps paths under its simulated nullfs mounts."""

    # --- resources and network -------------------------------------------------------
    def racct_enabled(self) -> bool:
        """sysctl kern.racct.enable: GENERIC has RACCT and RCTL compiled in but off
        (kern_racct.c RACCT_DEFAULT_TO_DISABLED); without it every rctl is ENOSYS."""

    def rctl_add(self, rule: str) -> None:
        """`rctl -a jail:<name>:<resource>:<action>=<amount>`."""

    def rctl_remove(self, rule_filter: str) -> None:
        """`rctl -r <filter>`; ESRCH when nothing matched."""

    def cpuset(self, jid: int, cpus: str) -> None:
        """`cpuset -j <jid> -l <cpu-list>`."""

    def ifconfig_alias(self, interface: str, address: str, *, add: bool) -> None:
        """`ifconfig <if> inet[6] <address> alias|-alias`."""

    def ifconfig_vnet(self, interface: str, jid: int) -> None:
        """`ifconfig <if> vnet <jid>`: move an interface into a vnet jail."""

    def ifconfig_unvnet(self, interface: str, jid: int) -> None:
        """`ifconfig <if> -vnet <jid>`: take an interface back from a live vnet jail
        (SIOCSIFRVNET, sys/net/if.c if_vmove_reclaim): ENXIO when it is not in
        that jail's vnet (destroyed there, or moved on), ENOENT when no live jail
        has that jid (lib/libjail/jail_getid.c, before any ioctl)."""

    def host_interface(self, interface: str) -> bool:
        """Whether `interface` is in this (the host's) network stack now:
        if_nametoindex(3) is not 0 (lib/libc/net/if_nametoindex.c: 0 and ENXIO
        for no such interface)."""

    # --- processes ----------------------------------------------------------------
    def setrlimit(self, resource: int, soft: int, hard: int) -> None:
        """setrlimit(2) on the calling process, `resource` a sys/sys/resource.h
        number (`RLIMITS`), the limits rlim_t values (at most RLIM_INFINITY)."""

    def setgroups(self, groups: "tuple[int, ...]") -> None:
        """setgroups(2) on the calling process. Before 15.0 groups[0] becomes the
        effective gid and the rest the supplementary groups; from 15.0 every entry
        is supplementary (sys/kern/kern_prot.c sys_setgroups, freebsd14_setgroups)."""

    def setgid(self, gid: int) -> None:
        """setgid(2): as root, the real, effective and saved gid."""

    def setuid(self, uid: int) -> None:
        """setuid(2): as root, the real, effective and saved uid."""

    def kill(self, pid: int, signal: int) -> None:
        """kill(2); ESRCH when the process is gone."""
