"""SimulatedKernel: a strict FreeBSD 14 jail/mount model kept in a JSON file.

The runtime's create, start, kill and delete are separate processes, so the
state lives in a file, read and written under flock. It is STRICT: it
rejects what jail_set(2), nmount(2), unmount(2), rctl(8), cpuset(1) and
ifconfig(8) reject, with the errno FreeBSD returns (`KernelError`), using the
parameter table in `backends/freebsd/jailparams.py`.

Processes: `jail_attach` records the caller (pid + start time, so a reused
pid is not a member) and, as root, really chroots into the jail path. The
processes of a jail are its recorded members still alive, plus their
descendants found by walking the process tree (psutil); every descendant
seen is recorded too, so a daemon that double-forks stays a member once it
has been observed. One whose parent died before any observation is missed:
the real kernel needs no such walk (ki_jid is per process).

Mounts are not made; file operations go to `host_path()`, which maps a path
under a simulated nullfs mount to its source. Devfs content is modelled in
`freebsd_devfs`. The caller's jail matters where the kernel's does: a
process that attached to a jail creates jails named relative to it, within
the children.max of that jail and of each of its ancestors.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import signal as _signal
import stat as _stat
from collections.abc import Iterator
from typing import Any

from pyocijail.backends.freebsd import jailparams
from pyocijail.backends.freebsd.kernel import (
    MNT_BYFSID,
    MNT_FLAGS,
    MNT_FORCE,
    P_PID,
    PROC_TRACE_CTL,
    PROC_TRACE_CTL_DISABLE,
    RLIM_INFINITY,
    RLIMITS,
    SYSV_PARAMS,
    Mounted,
)
from pyocijail.backends.freebsd.mounts import FS_DATA, check_devfs_rule
from pyocijail.backends.freebsd.resources import check_cpu_list, parse_rctl, rctl_refusal
from pyocijail.errors import ConfigError, KernelError
from pyocijail.testing import freebsd_devfs

JAIL_MAX = 999999  # prison0's children.max
#: What getfsstat lists first and statfs answers outside every simulated mount.
HOST_ROOT = Mounted(fsid=(-16776958, 53), fstype="ufs", source="/dev/ada0p2",
                    target="/")
#: sys/procctl.h trace states besides PROC_TRACE_CTL_DISABLE.
PROC_TRACE_CTL_ENABLE, PROC_TRACE_CTL_DISABLE_EXEC = 1, 3
#: sys/sys/syslimits.h NGROUPS_MAX: kern.ngroups' default (kern_prot.c's ngroups_max).
NGROUPS_MAX = 1023
#: sys/jail.h JAIL_DEFAULT_ALLOW: what a new jail gets (masked by its parent's).
DEFAULT_ALLOW = ("allow.set_hostname", "allow.reserved_ports",
                 "allow.unprivileged_proc_debug", "allow.suser")
#: jail_set(2) update cannot change these (kern_jail.c "cannot be changed after
#: creation"); the ip4.addr/ip6.addr lists can be (kern_jail_set replaces them).
FIXED = ("path", "vnet", "ip4", "ip6", "osrelease", "osreldate")
#: File systems GENERIC builds in (sys/amd64/conf/GENERIC: options TMPFS, PROCFS,
#: PSEUDOFS; devfs always). The others are modules, loaded by nmount(2)
#: (vfs_mount.c vfs_byname_kld) or kldload(2); linprocfs and linsysfs pull in
#: linux_common as a dependency.
BUILTIN_FS = ("devfs", "tmpfs", "procfs")
MODULE_FS = ("nullfs", "fdescfs", "linprocfs", "linsysfs", "fusefs", "zfs")
#: kldload(2) names this host knows (the file systems above plus what jails use).
MODULES = (*MODULE_FS, "linux", "linux64", "linux_common", "vmm")
#: Filters its options with vfs_filteropt: an unknown one is EINVAL (tmpfs_vfsops.c
#: tmpfs_opts, devfs_vfsops.c devfs_opts). nullfs, fdescfs and the pseudofs file
#: systems read what they know and ignore the rest.
FILTERED_FS = ("tmpfs", "devfs")
#: vfs_mount.c global_opts: accepted by every vfs_filteropt.
GLOBAL_OPTS = ("errmsg", "fstype", "fspath", "ro", "rw", "nosuid", "noexec")
#: racct is off on GENERIC (kern_racct.c RACCT_DEFAULT_TO_DISABLED, tunable
#: kern.racct.enable=0); `kld` lists the modules loaded at boot.
#: allow.* flags FreeBSD 15.0's kern_jail.c has and stable/14's lacks (allow.setaudit
#: also needs options AUDIT, which GENERIC has).
ALLOW_SINCE_15 = ("allow.routing", "allow.unprivileged_parent_tampering", "allow.setaudit")
DEFAULT_CONFIG = {"nullfs_files": True, "racct": False, "modules": ["linux64"], "kld": [],
                  "release": 14,
                  "interfaces": ["lo0", "em0", "epair0a", "epair0b", "epair1b"],
                  "ncpu": 8, "devfs_rules": True,
                  # kern.maxfilesperproc, kern.maxprocperuid: what setrlimit clamps
                  # RLIMIT_NOFILE / RLIMIT_NPROC to (they depend on RAM; podman asks
                  # for 1048576 of each)
                  "maxfilesperproc": 1048576, "maxprocperuid": 1048576,
                  "devfs_rule_depth": freebsd_devfs.RULE_DEPTH}


def _fresh(config: dict[str, Any]) -> dict[str, Any]:
    config = {**DEFAULT_CONFIG, **config}
    # devfs_rules=False: /etc/rc.d/devfs (devfs_load_rulesets) never ran, so none exist.
    boot = freebsd_devfs.BOOT_RULESETS if config["devfs_rules"] else {}
    return {"config": config, "next_jid": 1, "jails": {}, "mounts": [],
            "rctl": [], "cpusets": {}, "aliases": {}, "vnet_ifaces": {}, "faults": [],
            "calls": [], "devfs_rulesets": {str(n): list(rules) for n, rules
                                            in boot.items()}}


class SimulatedKernel:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._directory, self._name = os.path.split(self.path)
        # A directory fd keeps the state reachable after jail_attach chroots.
        self._dir = os.open(self._directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._dir_id = _identity(self._dir)

    # --- state file ------------------------------------------------------------
    @classmethod
    def configure(cls, path: str, **config: Any) -> SimulatedKernel:
        """Start a fresh simulated host (options: see DEFAULT_CONFIG)."""
        with open(path, "w") as f:
            json.dump(_fresh(config), f)
        return cls(path)

    @contextlib.contextmanager
    def _state(self, write: bool = True) -> Iterator[dict[str, Any]]:
        self._reopen()
        lock = os.open(self._name + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600,
                       dir_fd=self._dir)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                fd = os.open(self._name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=self._dir)
                with os.fdopen(fd) as f:
                    state = json.load(f)
            except FileNotFoundError:
                state = _fresh({})
            try:
                yield state
            except KernelError:
                # Refusals change nothing but the call log and fault list: keep those.
                if write:
                    self._save(state)
                raise
            if write:
                self._save(state)
        finally:
            os.close(lock)

    def _reopen(self) -> None:
        """A hook's child closes every fd before it attaches to the jail: reopen ours
        (still outside the jail then, so the path reaches it)."""
        if _identity(self._dir) != self._dir_id:
            self._dir = os.open(self._directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def _save(self, state: dict[str, Any]) -> None:
        tmp = f".{self._name}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600,
                     dir_fd=self._dir)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f)
        os.rename(tmp, self._name, src_dir_fd=self._dir, dst_dir_fd=self._dir)

    def snapshot(self) -> dict[str, Any]:
        with self._state() as state:
            self._settle(state)
            return state

    def fail_next(self, op: str, err: int, after: int = 0) -> None:
        """Make the (after+1)-th next call of `op` fail with `err` (test fault injection)."""
        with self._state() as state:
            state["faults"].append({"op": op, "errno": err, "after": after})

    def _enter(self, state: dict[str, Any], op: str, *args: Any) -> None:
        state["calls"].append([op, *args])
        for fault in state["faults"]:
            if fault["op"] == op:
                if fault["after"] > 0:
                    fault["after"] -= 1
                    continue
                state["faults"].remove(fault)
                raise KernelError(op, fault["errno"], str(args[0]) if args else None,
                                  detail=f"injected: {os.strerror(fault['errno'])}")

    # --- jails -----------------------------------------------------------------
    @staticmethod
    def _by_name(state: dict[str, Any], name: str) -> dict[str, Any] | None:
        return next((j for j in state["jails"].values() if j["name"] == name), None)

    @staticmethod
    def _host() -> dict[str, Any]:
        params = {k: True for k in jailparams.TABLE if k.startswith("allow.")}
        return {"jid": 0, "name": "", "params": {**params, "enforce_statfs": 0,
                                                 "securelevel": -1,
                                                 "children.max": JAIL_MAX},
                "ip": {"vnet": True}}

    def _jail(self, state: dict[str, Any], jid: int) -> dict[str, Any]:
        return self._host() if jid == 0 else state["jails"][str(jid)]

    def _children(self, state: dict[str, Any], jid: int) -> list[dict[str, Any]]:
        return [j for j in state["jails"].values() if j["parent"] == jid]

    def jail_set(self, params: dict[str, Any], *, create: bool) -> int:
        with self._state() as state:
            self._enter(state, "jail_set", params.get("name"), "create" if create else "update")
            return self._jail_set(state, dict(params), create)

    def _jail_set(self, state: dict[str, Any], params: dict[str, Any], create: bool) -> int:  # noqa: C901 - models kern_jail.c kern_jail_set, one function there too
        def fail(err: int, why: str) -> KernelError:
            return KernelError("jail_set", err, params.get("name"), detail=why)

        for key, value in params.items():
            problem = jailparams.check(key, value)
            if problem:
                raise fail(*problem)
            if not self._registered(state, key):
                # kern_jail_set: an option no parameter consumed ("seen") is
                # refused at the end; module-backed ones exist only once loaded.
                raise fail(errno.EINVAL, f"unknown parameter: {key}")
        name = params.pop("name", None)
        jid_asked = params.pop("jid", 0)
        if not name:
            raise fail(errno.ENOENT, "update specified no jail")
        # kern_jail.c: vnet given (any value) plus PR_IP4_USER/PR_IP6_USER, which
        # ip4, ip6 and their .addr set; ip4.saddrsel is a plain flag and allowed.
        if "vnet" in params and any(k in ("ip4", "ip6", "ip4.addr", "ip6.addr")
                                    for k in params):
            raise fail(errno.EINVAL, "vnet jails cannot have IP address restrictions")
        mypr = self._caller_jail(state)
        if mypr["jid"] != 0:
            # A jailed creator names jails relative to its own (prison_find_name).
            name = f"{mypr['name']}.{name}"
            if create and mypr["params"]["children.max"] == 0:
                raise fail(errno.EPERM, "this jail may not create jails (children.max 0)")
        head, dot, last = name.rpartition(".")
        number = _strtoul(last)
        if create and not jid_asked and number is not None:
            # kern_jail_set: a create whose last name component is a number asks
            # for that jid.
            jid_asked = _c_int(number)
        if jid_asked < 0:
            raise fail(errno.EINVAL, "negative jid")
        if jid_asked and create and str(jid_asked) in state["jails"]:
            raise fail(errno.EEXIST, f"jail {jid_asked} already exists")
        if jid_asked and not create and str(jid_asked) not in state["jails"]:
            raise fail(errno.ENOENT, f"jail {jid_asked} not found")
        parent = self._by_name(state, head) if dot else self._host()
        if parent is None:
            raise fail(errno.ENOENT, f'jail "{head}" not found')
        existing = self._by_name(state, name)
        if number is not None and last and (number != jid_asked % 2**64
                                            or last[0] not in "123456789"):
            # Only the jid itself, in normal form, may be a name (an update keyed
            # by a numeric name alone has jid 0 here, so it fails too).
            raise fail(errno.EINVAL, "name cannot be numeric (unless it is the jid)")
        if create:
            if existing is not None:
                raise fail(errno.EEXIST, f'jail "{name}" already exists')
            if params.get("persist") is not True:
                raise fail(errno.EINVAL, "new jail must persist or attach")
            # The limits are those of the *creating* process's jail and its
            # ancestors, not of the new jail's parent: from the host only
            # prison0's JAIL_MAX counts (children.max: "created by this jail").
            tpr: dict[str, Any] | None = mypr
            while tpr is not None:
                kids = len(self._descendants(state, tpr["jid"]))
                if kids >= self._jail(state, tpr["jid"])["params"].get("children.max", 0):
                    raise fail(errno.EPERM, "prison limit exceeded")
                tpr = None if tpr["jid"] == 0 else self._jail(state, tpr["parent"])
            path = params.get("path", "/")
            real = self.host_path(path, state)
            if not os.path.exists(real):
                raise fail(errno.ENOENT, f"path {path}")
            if not os.path.isdir(real):
                raise fail(errno.ENOTDIR, f"path {path}")
        else:
            if existing is None:
                raise fail(errno.ENOENT, f'jail "{name}" not found')
            for key in FIXED:
                if key in params:
                    raise fail(errno.EINVAL, f"{key} cannot be changed after creation")
        pparams = parent["params"]
        for fam in ("ip4", "ip6"):
            if existing is not None and not create and f"{fam}.addr" in params \
                    and existing["ip"].get("vnet"):
                raise fail(errno.EINVAL, "vnet jails cannot have IP address restrictions")
            self._check_addresses(state, parent, fam, params.get(f"{fam}.addr") or [], fail,
                                  self_jid=None if create or existing is None
                                  else existing["jid"])
        for key, value in params.items():
            if key.startswith("allow.") and value is True and not pparams.get(key) \
                    and key not in jailparams.ALLOW_DIFFERENCES:
                raise fail(errno.EPERM, f"{key} is not allowed in the parent jail")
        if "securelevel" in params and params["securelevel"] < pparams["securelevel"]:
            # kern_jail_set: below the parent's is EPERM, on create and on update; a
            # jail may go back down to its parent's level (only the kern.securelevel
            # sysctl inside the jail refuses lowering).
            raise fail(errno.EPERM, "securelevel below the parent's")
        if "devfs_ruleset" in params and mypr["jid"] != 0:
            # Nested jails always inherit the parent's ruleset.
            if params["devfs_ruleset"] > 0 and \
                    params["devfs_ruleset"] != pparams.get("devfs_ruleset", 0):
                raise fail(errno.EPERM, "devfs_ruleset differs from the parent's")
            params["devfs_ruleset"] = pparams.get("devfs_ruleset", 0)
        if params.get("enforce_statfs", 2) < pparams.get("enforce_statfs", 0):
            raise fail(errno.EPERM, "enforce_statfs below the parent's")
        for key in SYSV_PARAMS:
            # sysv_{msg,sem,shm}.c *_prison_check: new/inherit need the parent's.
            if params.get(key, "disable") != "disable" and pparams.get(key, "new") == "disable":
                raise fail(errno.EPERM, f"{key}: the parent jail's is disabled")
        if "children.max" in params and params["children.max"] >= pparams["children.max"]:
            raise fail(errno.EPERM, "children.max at or above the parent's")
        if create:
            jid = jid_asked or self._next_jid(state)
            if not last:  # "p." or "": named after its jid
                name = f"{head}{dot}{jid}"
            base: dict[str, Any] = {k: bool(pparams.get(k)) for k in DEFAULT_ALLOW}
            base.update({"enforce_statfs": 2, "children.max": 0, "sysvmsg": "disable",
                         "securelevel": pparams["securelevel"],
                         "devfs_ruleset": pparams.get("devfs_ruleset", 0),
                         "sysvsem": "disable", "sysvshm": "disable", "host": "inherit"})
            # Like pr_root: the directory as found now; a later mount on the path
            # does not change what the jail sees as "/".
            state["jails"][str(jid)] = {"jid": jid, "name": name, "parent": parent["jid"],
                                        "params": {**base, **params}, "members": [],
                                        "root": real, "ip": self._ip_state(parent, params)}
            return jid
        assert existing is not None
        existing["params"].update(params)
        for fam in ("ip4", "ip6"):
            if f"{fam}.addr" in params:  # kern_jail_set: the new list replaces the old
                existing["ip"][fam] = {"user": True, "restricted": True,
                                       "addrs": list(params[f"{fam}.addr"])}
        if "devfs_ruleset" in params:
            # kern_jail_set: passed on to every descendant. Not checked against the
            # rulesets that exist: it only matters when devfs is mounted inside.
            for child in self._descendants(state, existing["jid"]):
                child["params"]["devfs_ruleset"] = params["devfs_ruleset"]
        if "securelevel" in params:
            # Every descendant is raised to at least the new level.
            for child in self._descendants(state, existing["jid"]):
                child["params"]["securelevel"] = max(child["params"]["securelevel"],
                                                     params["securelevel"])
        return int(existing["jid"])

    @staticmethod
    def _ip_state(parent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """A new jail's address restriction per family, as kern_jail_set sets it.

        vnet=new: none (own stack). Neither ip4 nor ip4.addr given: restricted to
        no address (PR_IP4_USER). ip4=inherit: the parent's restriction and list.
        ip4=new|disable or ip4.addr: its own list ("user")."""
        if params.get("vnet") == "new":
            return {"vnet": True}
        out: dict[str, Any] = {"vnet": False}
        for fam in ("ip4", "ip6"):
            addrs = list(params.get(f"{fam}.addr") or [])
            if fam not in params and f"{fam}.addr" not in params:
                out[fam] = {"user": True, "restricted": True, "addrs": []}
            elif params.get(fam) in ("new", "disable") or f"{fam}.addr" in params:
                out[fam] = {"user": True, "restricted": True, "addrs": addrs}
            else:
                inherited = parent["ip"].get(fam) or {"restricted": False, "addrs": []}
                out[fam] = {"user": False, "restricted": inherited["restricted"],
                            "addrs": list(inherited["addrs"])}
        return out

    def _check_addresses(self, state: dict[str, Any], parent: dict[str, Any], fam: str,
                         addrs: list[str], fail: Any, self_jid: int | None = None) -> None:
        """kern_jail_set, prison_ip_parent_match and prison_ip_conflict_check.

        Under a parent restricted to a list, the new list must be a subset (EPERM).
        Then every live jail with its own list in the same network stack (below the
        nearest vnet ancestor, not inside other vnet jails; an inheriting jail is
        looked through) must not hold any of the addresses (EADDRINUSE), unless
        both have exactly one address of that family."""
        if not addrs:
            return
        pip = parent["ip"].get(fam)
        if pip is not None and pip["restricted"]:
            outside = [a for a in addrs if a not in pip["addrs"]]
            if outside:
                raise fail(errno.EPERM, f"{fam}.addr {outside[0]} is not in the parent "
                                        "jail's list")
        top = parent
        while not top["ip"].get("vnet"):
            top = self._jail(state, top["parent"])
        pending = self._children(state, top["jid"])
        while pending:
            other = pending.pop(0)
            if other["ip"].get("vnet") or other["jid"] == self_jid:
                continue
            oip = other["ip"][fam]
            if not oip["user"]:
                pending.extend(self._children(state, other["jid"]))
                continue
            if not oip["addrs"] or (len(addrs) == 1 and len(oip["addrs"]) == 1):
                continue
            if any(a in oip["addrs"] for a in addrs):
                raise fail(errno.EADDRINUSE,
                           f"IPv{fam[2]} addresses clash")

    def _caller_jail(self, state: dict[str, Any]) -> dict[str, Any]:
        """The jail of the calling process (td_ucred->cr_prison): the host unless
        this process attached to one."""
        pid = os.getpid()
        for jail in state["jails"].values():
            if any(p == pid for p, _ in jail["members"]) and \
                    [pid, _start_time(pid)] in jail["members"]:
                return jail  # type: ignore[no-any-return]
        return self._host()

    @staticmethod
    def _next_jid(state: dict[str, Any]) -> int:
        """get_next_prid: after the last one given, wrapping at JAIL_MAX, skipping
        jids in use (also those asked for explicitly)."""
        jid = state["next_jid"]
        while str(jid) in state["jails"]:
            jid = 1 if jid >= JAIL_MAX else jid + 1
        state["next_jid"] = 1 if jid >= JAIL_MAX else jid + 1
        return int(jid)

    def _descendants(self, state: dict[str, Any], jid: int) -> list[dict[str, Any]]:
        out = []
        for child in self._children(state, jid):
            out.append(child)
            out.extend(self._descendants(state, child["jid"]))
        return out

    def jail_get(self, name: str) -> dict[str, Any]:
        """The jail's parameters by name: only those registered (allow.mount.<fs>
        is missing while its file system is not loaded)."""
        with self._state(write=False) as state:
            mypr = self._caller_jail(state)
            # prison_find_name: a jailed caller names jails relative to its own.
            jail = self._by_name(state, f"{mypr['name']}.{name}" if mypr["jid"] else name)
            if jail is None:
                raise KernelError("jail_get", errno.ENOENT, name,
                                  detail=f'jail "{name}" not found')
            return self._report(state, jail)

    def _report(self, state: dict[str, Any], jail: dict[str, Any]) -> dict[str, Any]:
        """kern_jail_get's answer; to a jailed caller the name is relative to its
        jail (prison_name) and its own jail is parent 0 ("i = (pr->pr_parent ==
        mypr) ? 0 : pr->pr_parent->pr_id")."""
        mypr = self._caller_jail(state)
        name, parent = jail["name"], jail["parent"]
        if mypr["jid"]:
            name = name[len(mypr["name"]) + 1:]
            parent = 0 if parent == mypr["jid"] else parent
        allow = {k: False for k in jailparams.TABLE if k.startswith("allow.")}
        out = {**allow, **jail["params"], "jid": jail["jid"], "name": name,
               "parent": parent, "path": jail["params"].get("path", "/"),
               "children.cur": len(self._children(state, jail["jid"])),
               "children.max": jail["params"].get("children.max", 0),
               "dying": False}
        return {k: v for k, v in out.items() if self._registered(state, k)}

    def jail_get_by(self, key: str, value: Any) -> dict[str, Any]:
        """kern_jail_get's lookups: `name`, `jid`, or `lastjid` (the first jail with
        a larger jid); ENOENT with the errmsg kern_jail.c writes. A jailed caller
        sees only its descendants (prison_find_child, prison_ischild) and names
        them relative to its own jail (prison_find_name), as `jail_get` does."""
        with self._state(write=False) as state:
            mypr = self._caller_jail(state)
            seen = state["jails"] if not mypr["jid"] else \
                {str(j["jid"]): j for j in self._descendants(state, mypr["jid"])}
            if key == "name":
                jail = self._by_name(state, f"{mypr['name']}.{value}" if mypr["jid"]
                                     else value)
                why = f'jail "{value}" not found'
            elif key == "jid":
                jail = seen.get(str(value))
                why = f"jail {value} not found"
            else:
                later = sorted(j["jid"] for j in seen.values() if j["jid"] > value)
                jail = state["jails"][str(later[0])] if later else None
                why = f"no jail after {value}"
            if jail is None:
                raise KernelError("jail_get", errno.ENOENT, str(value), detail=why)
            return self._report(state, jail)

    # --- kernel modules and the parameters they register -------------------------
    @staticmethod
    def _loaded(state: dict[str, Any]) -> list[str]:
        loaded: list[str] = state.setdefault(
            "kld", [*state["config"]["modules"], *state["config"].get("kld", [])])
        return loaded

    def kldload(self, name: str) -> int:
        """kldload(2) (sys/kern/kern_linker.c kern_kldload): a file id; EEXIST when
        the module is loaded already (or built in), ENOENT when there is no file."""
        with self._state() as state:
            self._enter(state, "kldload", name)
            return self._kldload(state, name, "kldload")

    def _kldload(self, state: dict[str, Any], name: str, op: str) -> int:
        loaded = self._loaded(state)
        if name in loaded or name in BUILTIN_FS:
            raise KernelError(op, errno.EEXIST, name, detail="module already loaded")
        if name not in MODULES:
            raise KernelError(op, errno.ENOENT, name, detail="no such file")
        if name in ("linprocfs", "linsysfs", "linux", "linux64") and \
                "linux_common" not in loaded:
            loaded.append("linux_common")  # its MODULE_DEPEND
        loaded.append(name)
        return len(loaded) + 1

    def registered(self, name: str) -> bool:
        """Whether sysctl security.jail.param.<name> exists."""
        with self._state(write=False) as state:
            return self._registered(state, name)

    def _registered(self, state: dict[str, Any], name: str) -> bool:
        """kern_jail.c: allow.mount.<fs> is added by prison_add_vfs when
        vfs_register registers a VFCF_JAIL file system; allow.vmm by vmm.ko; the
        linux.* parameters by linux_common (linux_mib.c); routing, setaudit and
        unprivileged_parent_tampering only from 15.0 (config `release`). The rest
        always exist."""
        if name not in jailparams.TABLE:
            return False
        loaded = self._loaded(state)
        if name.startswith("allow.mount."):
            fs = name[len("allow.mount."):]
            return fs in BUILTIN_FS or fs in loaded
        if name == "allow.vmm":
            return "vmm" in loaded
        if name in ALLOW_SINCE_15:
            return int(state["config"].get("release", 14)) >= 15
        if name == "linux" or name.startswith("linux."):
            return "linux_common" in loaded or "linux64" in loaded
        return True

    def jail_attach(self, jid: int) -> None:
        with self._state() as state:
            self._enter(state, "jail_attach", jid)
            jail = state["jails"].get(str(jid))
            if jail is None:
                raise KernelError("jail_attach", errno.EINVAL, str(jid),
                                  detail="no such jail")
            jail["members"].append([os.getpid(), _start_time(os.getpid())])
            root = jail["root"]
        if os.geteuid() == 0:
            os.chroot(root)
            os.chdir("/")

    def procctl(self, idtype: int, ident: int, cmd: int, data: int | None) -> None:
        """procctl(2) PROC_TRACE_CTL on one process (sys/kern/kern_procctl.c
        trace_ctl): EBUSY while it is traced, EPERM to re-enable another's,
        EINVAL for another state. Recorded in `notrace` (pid, start time) until
        that process execs, which the model cannot see: the call log is the record."""
        with self._state() as state:
            self._enter(state, "procctl", idtype, ident, cmd, data)

            def fail(err: int, why: str) -> KernelError:
                return KernelError("procctl", err, str(ident), detail=why)

            if idtype != P_PID or cmd != PROC_TRACE_CTL:
                raise fail(errno.EINVAL, "only P_PID and PROC_TRACE_CTL are modelled")
            pid = ident or os.getpid()
            try:
                start = _start_time(pid)
                with open(f"/proc/{pid}/status") as f:
                    traced = any(line.split()[1:] != ["0"] for line in f
                                 if line.startswith("TracerPid:"))
            except Exception as err:  # psutil.NoSuchProcess or a vanished /proc entry
                raise fail(errno.ESRCH, "no such process") from err
            if traced:
                raise fail(errno.EBUSY, "the process is being traced")
            if data == PROC_TRACE_CTL_ENABLE and pid != os.getpid():
                raise fail(errno.EPERM, "only a process itself may re-enable tracing")
            if data not in (PROC_TRACE_CTL_ENABLE, PROC_TRACE_CTL_DISABLE,
                            PROC_TRACE_CTL_DISABLE_EXEC):
                raise fail(errno.EINVAL, f"trace state {data}")
            notrace = [e for e in state.setdefault("notrace", []) if e[0] != pid]
            if data != PROC_TRACE_CTL_ENABLE:
                notrace.append([pid, start])
            state["notrace"] = notrace

    def jail_remove(self, jid: int) -> None:
        with self._state() as state:
            self._enter(state, "jail_remove", jid)
            jail = state["jails"].get(str(jid))
            if jail is None:
                raise KernelError("jail_remove", errno.EINVAL, str(jid), detail="no such jail")
            doomed = [jail, *self._descendants(state, jid)]
            holders = []
            for pid in self._pids(state, doomed):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    holders.append([pid, _start_time(pid)])
                    os.kill(pid, _signal.SIGKILL)
            for j in doomed:
                del state["jails"][str(j["jid"])]
                state["cpusets"].pop(str(j["jid"]), None)
                for iface, owner in list(state["vnet_ifaces"].items()):
                    if owner == j["jid"]:
                        # Back to the host only when the dying prison is freed: its
                        # vnet is destroyed (vnet_destroy -> if_vmove home) after the
                        # last process, zombies included (they hold their ucred),
                        # is reaped (kern_jail.c prison_deref).
                        state["vnet_ifaces"][iface] = {"dying": holders}
            self._settle(state)

    @staticmethod
    def _settle(state: dict[str, Any]) -> None:
        """Return the interfaces of dying jails whose processes are all reaped."""
        import psutil  # type: ignore[import-untyped]  # no types-psutil installed

        for iface, owner in list(state["vnet_ifaces"].items()):
            if not isinstance(owner, dict):
                continue
            alive = []
            for pid, started in owner["dying"]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    if psutil.Process(pid).create_time() == started:
                        alive.append([pid, started])
            if alive:
                owner["dying"] = alive
            else:
                del state["vnet_ifaces"][iface]

    def jail_pids(self, jid: int) -> list[int]:
        with self._state() as state:
            jail = state["jails"].get(str(jid))
            if jail is None:
                return []
            return self._pids(state, [jail, *self._descendants(state, jid)])

    def process_jids(self) -> dict[int, int]:
        """pid -> jid of every process in a jail (ki_jid, what `ps -o jid` prints)."""
        with self._state() as state:
            return {pid: jail["jid"] for jail in list(state["jails"].values())
                    for pid in self._pids(state, [jail])}

    def _pids(self, state: dict[str, Any], jails: list[dict[str, Any]]) -> list[int]:
        import psutil

        found: list[int] = []
        for jail in jails:
            alive = []
            for pid, started in jail["members"]:
                try:
                    proc = psutil.Process(pid)
                    if proc.create_time() != started or proc.status() == psutil.STATUS_ZOMBIE:
                        continue
                    kids = proc.children(recursive=True)
                except psutil.NoSuchProcess:
                    continue
                alive.append([pid, started])
                for kid in kids:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        if kid.status() != psutil.STATUS_ZOMBIE:
                            alive.append([kid.pid, kid.create_time()])
            unique = {p: t for p, t in alive}
            jail["members"] = [[p, t] for p, t in unique.items()]
            found.extend(unique)
        return sorted(set(found))

    # --- file systems -------------------------------------------------------------
    def host_path(self, path: str, state: dict[str, Any] | None = None) -> str:
        if state is None:
            with self._state(write=False) as st:
                return self.host_path(path, st)
        best = None
        for m in state["mounts"]:
            t = m["target"]
            under = path == t or path.startswith(t.rstrip("/") + "/")
            if under and m["fstype"] == "nullfs" and (
                    best is None or len(t) >= len(best["target"])):
                best = m
        if best is None:
            return path
        rest = path[len(best["target"]):].lstrip("/")
        return self.host_path(os.path.join(best["source"], rest) if rest else best["source"],
                              state)

    def _devfs_at(self, state: dict[str, Any], path: str) -> tuple[dict[str, Any], str] | None:
        for m in reversed(state["mounts"]):
            t = m["target"]
            if m["fstype"] == "devfs" and path.startswith(t.rstrip("/") + "/"):
                return m, path[len(t):].strip("/")
        return None

    def _lookup(self, state: dict[str, Any], path: str) -> str:
        """namei(FOLLOW) from the host's root, as nmount(2), unmount(2) and statfs(2)
        resolve their path (vfs_mount.c vfs_domount, kern_unmount): every symlink,
        in the simulated tree, is followed, and the mount lands where it leads.
        vn_path_to_global_path then makes that the mount's f_mntonname."""
        parts = [p for p in path.split("/") if p]
        done, links = "/", 0
        while parts:
            name = parts.pop(0)
            if name in (".", ""):
                continue
            if name == "..":
                done = os.path.dirname(done)
                continue
            step = os.path.join(done, name)
            real = self.host_path(step, state)
            if os.path.islink(real):
                links += 1
                if links > 32:  # MAXSYMLINKS
                    raise KernelError("namei", errno.ELOOP, path)
                link = os.readlink(real)
                parts = [p for p in link.split("/") if p] + parts
                if link.startswith("/"):
                    done = "/"
                continue
            done = step
        return done

    @staticmethod
    def _new_fsid(state: dict[str, Any], fstype: str) -> list[int]:
        """vfs_getnewfsid: unique among mounted file systems; val[1] is the type's
        number (vfc_typenum), val[0] a per-mount counter in the kernel's form."""
        state["next_fsid"] = state.get("next_fsid", 0) + 1
        typenum = sorted(FS_DATA).index(fstype) + 0x80 if fstype in FS_DATA else 0x7f
        return [_c_int(0xff000000 | state["next_fsid"] << 8 | typenum), typenum]

    def nmount(self, fstype: str, source: str, target: str, flags: int,  # noqa: C901 - models vfs_mount.c vfs_donmount's checks in order
               data: dict[str, str | None]) -> None:
        with self._state() as state:
            self._enter(state, "nmount", target, fstype)
            target = self._lookup(state, target)

            def fail(err: int, why: str) -> KernelError:
                return KernelError("nmount", err, target, detail=why)

            linux64 = "linux64" in state["config"]["modules"]
            if fstype not in FS_DATA:
                # vfs_mount.c vfs_donmount: the ENOENT of a module that cannot be
                # loaded becomes EINVAL "Invalid fstype".
                raise fail(errno.EINVAL, "Invalid fstype")
            if fstype in MODULE_FS and fstype not in self._loaded(state):
                self._kldload(state, fstype, "nmount")  # vfs_byname_kld
            for key in data if fstype in FILTERED_FS else ():
                if key not in FS_DATA[fstype] and key not in GLOBAL_OPTS:
                    # vfs_filteropt's message, copied into errmsg
                    raise fail(errno.EINVAL, f"mount option <{key}> is unknown")
            if flags & ~sum(MNT_FLAGS.values()):
                raise fail(errno.EINVAL, f"unknown mount flags {flags:#x}")
            in_devfs = self._devfs_at(state, target)
            if in_devfs is not None:
                kind = freebsd_devfs.devices(linux64).get(in_devfs[1])
                if not freebsd_devfs.reachable(in_devfs[0]["visible"], in_devfs[1]):
                    raise fail(errno.ENOENT, "not in this devfs (hidden by its ruleset?)")
                target_kind = "dir" if kind == "dir" else "file"
            else:
                real = self.host_path(target, state)
                if not os.path.lexists(real):
                    raise fail(errno.ENOENT, "mount point does not exist")
                target_kind = "dir" if os.path.isdir(real) else "file"
            entry: dict[str, Any] = {"fstype": fstype, "source": source, "target": target,
                                     "flags": flags, "data": data}
            if fstype == "nullfs" and state["config"]["nullfs_files"]:
                # 13.2+: nullfs is VFCF_FILEMOUNT (null_vfsops.c VFS_SET), so
                # vfs_mount.c vfs_domount_first takes a directory or a regular file
                # with one link, else EINVAL; nullfs_mount then wants the lower
                # vnode of the covered one's type ("target must be same type as
                # fspath"), else EINVAL.
                if target_kind == "file" and in_devfs is None:
                    st = os.stat(real)
                    if not _stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                        raise fail(errno.EINVAL, "a file mount point must be a regular "
                                                 "file with one link")
                src = self.host_path(source, state)
                if not os.path.exists(src):
                    raise fail(errno.ENOENT, f"source {source} does not exist")
                source_kind = "dir" if os.path.isdir(src) else "file"
                if source_kind != target_kind:
                    raise fail(errno.EINVAL, f"cannot mount a {source_kind} on a {target_kind}")
            elif fstype == "nullfs":
                # Before 13.2 (config nullfs_files=False): no VFCF_FILEMOUNT, so a
                # mount point that is not a directory is ENOTDIR.
                src = self.host_path(source, state)
                if not os.path.exists(src):
                    raise fail(errno.ENOENT, f"source {source} does not exist")
                if not os.path.isdir(src) or target_kind != "dir":
                    raise fail(errno.ENOTDIR, "this kernel's nullfs mounts directories only")
            elif target_kind != "dir":
                raise fail(errno.ENOTDIR, "mount point is not a directory")
            if fstype == "devfs":
                # devfs_vfsops.c devfs_mount: "%d" scan, 0..65535; a ruleset that
                # does not exist is created empty (devfs_ruleset_use): nothing hidden.
                ruleset = 0
                if "ruleset" in data:
                    number = re.match(r"\s*[+-]?\d+", data["ruleset"] or "")
                    ruleset = int(number.group()) if number else -1
                    if not 0 <= ruleset <= 65535:
                        raise fail(errno.EINVAL, "invalid ruleset specification")
                mypr = self._caller_jail(state)
                if mypr["jid"] != 0:
                    # A jailed caller gets its jail's ruleset; asking for another
                    # (but 0) is EPERM (devfs_vfsops.c devfs_mount).
                    own = mypr["params"].get("devfs_ruleset", 0)
                    if ruleset not in (0, own):
                        raise fail(errno.EPERM, f"ruleset {ruleset} is not the jail's {own}")
                    ruleset = own
                rulesets = state["devfs_rulesets"]
                if ruleset:
                    rulesets.setdefault(str(ruleset), [])
                entry["ruleset"] = ruleset
                entry["visible"] = freebsd_devfs.visible(
                    rulesets[str(ruleset)] if ruleset else [], _int_keys(rulesets), linux64,
                    state["config"]["devfs_rule_depth"])
            entry["fsid"] = self._new_fsid(state, fstype)
            state["mounts"].append(entry)

    def unmount(self, target: str, flags: int) -> None:
        """unmount(2) by path (the topmost mount there; EINVAL if none) or, with
        MNT_BYFSID, by "FSID:%d:%d" (EINVAL if it does not scan, ENOENT if no such
        file system): vfs_mount.c kern_unmount. A mount with another stacked on it
        is EBUSY unless forced (its root vnode is held by the upper mount, which
        vflush refuses without FORCECLOSE); forced, the upper mount stays listed."""
        with self._state() as state:
            self._enter(state, "unmount", target, flags)
            mounts = state["mounts"]
            if flags & MNT_BYFSID:
                scanned = re.match(r"FSID:\s*([+-]?\d+):\s*([+-]?\d+)", target)
                if scanned is None:
                    raise KernelError("unmount", errno.EINVAL, target, detail="not an fsid")
                fsid = [_c_int(int(scanned.group(1))), _c_int(int(scanned.group(2)))]
                index = next((i for i, m in enumerate(mounts) if m.get("fsid") == fsid), None)
                if index is None:
                    raise KernelError("unmount", errno.ENOENT, target,
                                      detail="no such file system")
            else:
                with contextlib.suppress(KernelError):  # namei failed: the path as given
                    target = self._lookup(state, target)
                index = next((i for i in range(len(mounts) - 1, -1, -1)
                              if mounts[i]["target"] == target), None)
                if index is None:
                    raise KernelError("unmount", errno.EINVAL, target,
                                      detail="not a mount point")
            where = mounts[index]["target"]
            prefix = where.rstrip("/") + "/"
            if any(m["target"].startswith(prefix) for m in mounts):
                raise KernelError("unmount", errno.EBUSY, where, detail="a mount is beneath it")
            stacked = any(m["target"] == where for m in mounts[index + 1:])
            if not flags & MNT_FORCE and (stacked or self._busy(state,
                                                                self.host_path(where, state))):
                raise KernelError("unmount", errno.EBUSY, where,
                                  detail="another mount is on it" if stacked
                                  else "in use by a process")
            gone = mounts.pop(index)
            if gone["fstype"] == "devfs":
                self._reap_ruleset(state, gone.get("ruleset", 0))

    def _mounted(self, m: dict[str, Any]) -> Mounted:
        return Mounted(fsid=(m["fsid"][0], m["fsid"][1]), fstype=m["fstype"],
                       source=m["source"], target=m["target"])

    def statfs(self, path: str) -> Mounted:
        """statfs(2): the topmost file system holding `path` (links followed);
        outside every simulated mount, the host's root file system."""
        with self._state() as state:
            self._enter(state, "statfs", path)
            where = self._lookup(state, path)
            best = None
            for m in state["mounts"]:
                t = m["target"]
                if (where == t or where.startswith(t.rstrip("/") + "/")) and \
                        (best is None or len(t) >= len(best["target"])):
                    best = m
            if best is None and not os.path.lexists(where):
                raise KernelError("statfs", errno.ENOENT, path)
            return self._mounted(best) if best is not None else HOST_ROOT

    def getfsstat(self) -> list[Mounted]:
        """getfsstat(2): the host's root file system, then every mount in order."""
        with self._state() as state:
            self._enter(state, "getfsstat")
            return [HOST_ROOT, *(self._mounted(m) for m in state["mounts"])]

    def _busy(self, state: dict[str, Any], real: str) -> bool:
        prefix = real.rstrip("/") + "/"
        for jail in state["jails"].values():
            for pid in self._pids(state, [jail]):
                for link in ("cwd", "root"):
                    with contextlib.suppress(OSError):
                        where = os.readlink(f"/proc/{pid}/{link}")
                        if where == real or where.startswith(prefix):
                            return True
        return False

    # devfs(8) acts through ioctls on the mount's root (sys/fs/devfs/devfs_rule.c
    # devfs_rules_ioctl); a missing ruleset is ESRCH, which the tool prints.
    def _devfs_mount(self, state: dict[str, Any], op: str, mountpoint: str) -> dict[str, Any]:
        mount: dict[str, Any] | None = next(
            (m for m in reversed(state["mounts"]) if m["target"] == mountpoint), None)
        if mount is None or mount["fstype"] != "devfs":
            raise KernelError(op, errno.ENOTTY, mountpoint, detail="not a devfs mount")
        return mount

    @staticmethod
    def _devfs_rule(state: dict[str, Any], op: str, ioctl: str, mountpoint: str,
                    rule: str) -> str:
        try:
            rule = check_devfs_rule(rule)
        except ConfigError as err:
            raise KernelError(op, errno.EINVAL, mountpoint, detail=str(err)) from err
        tokens = rule.split()
        for i, word in enumerate(tokens[:-1]):
            if word == "include" and tokens[i + 1] not in state["devfs_rulesets"]:
                raise KernelError(op, errno.ESRCH, mountpoint,
                                  detail=f"devfs: ioctl {ioctl}: No such process")
        return rule

    def _reap_ruleset(self, state: dict[str, Any], number: int) -> None:
        """devfs_ruleset_reap: an empty ruleset no mount uses is removed."""
        key = str(number)
        if not number or state["devfs_rulesets"].get(key, [None]):
            return
        if any(m["fstype"] == "devfs" and m.get("ruleset") == number for m in state["mounts"]):
            return
        if any(r.split()[-2:] == ["include", key] for rules in state["devfs_rulesets"].values()
               for r in rules):
            return  # an include holds a reference
        del state["devfs_rulesets"][key]

    def devfs_rule_apply(self, mountpoint: str, rule: str) -> None:
        """`devfs -m <mountpoint> rule apply <rule>` (DEVFSIO_RAPPLY): one rule, run
        on the mount directly; no ruleset is involved unless it includes one."""
        with self._state() as state:
            self._enter(state, "devfs_rule_apply", mountpoint, rule)
            op = "devfs rule apply"
            mount = self._devfs_mount(state, op, mountpoint)
            rule = self._devfs_rule(state, op, "DEVFSIO_RAPPLY", mountpoint, rule)
            linux64 = "linux64" in state["config"]["modules"]
            mount["visible"] = freebsd_devfs.apply(mount["visible"], rule, linux64,
                                                   _int_keys(state["devfs_rulesets"]),
                                                   state["config"]["devfs_rule_depth"])

    def devfs_ruleset(self, mountpoint: str, number: int) -> None:
        """`devfs -m <mountpoint> ruleset N` (DEVFSIO_SUSE): make N the mount's
        ruleset, creating it empty if missing; nothing is applied."""
        with self._state() as state:
            self._enter(state, "devfs_ruleset", mountpoint, number)
            mount = self._devfs_mount(state, "devfs ruleset", mountpoint)
            old = mount.get("ruleset", 0)
            mount["ruleset"] = number
            self._reap_ruleset(state, old)
            if number:
                state["devfs_rulesets"].setdefault(str(number), [])

    def devfs_rule_add(self, mountpoint: str, rule: str, ruleset: int = 0) -> None:
        """`devfs -m <mountpoint> rule [-s N] add <rule>` (DEVFSIO_RADD): creates
        the ruleset if missing; without -s the mount's own, and 0 is EIO."""
        with self._state() as state:
            self._enter(state, "devfs_rule_add", mountpoint, rule, ruleset)
            op = "devfs rule add"
            mount = self._devfs_mount(state, op, mountpoint)
            number = ruleset or mount.get("ruleset", 0)
            rule = self._devfs_rule(state, op, "DEVFSIO_RADD", mountpoint, rule)
            if not number:
                raise KernelError(op, errno.EIO, mountpoint,
                                  detail="devfs: ioctl DEVFSIO_RADD: Input/output error")
            state["devfs_rulesets"].setdefault(str(number), []).append(rule)

    def devfs_rule_applyset(self, mountpoint: str, ruleset: int = 0) -> None:
        """`devfs -m <mountpoint> rule [-s N] applyset` (DEVFSIO_SAPPLY): ESRCH when
        the ruleset does not exist (ruleset 0 never does)."""
        with self._state() as state:
            self._enter(state, "devfs_rule_applyset", mountpoint, ruleset)
            op = "devfs rule applyset"
            mount = self._devfs_mount(state, op, mountpoint)
            number = ruleset or mount.get("ruleset", 0)
            rules = state["devfs_rulesets"].get(str(number)) if number else None
            if rules is None:
                raise KernelError(op, errno.ESRCH, mountpoint,
                                  detail="devfs: ioctl DEVFSIO_SAPPLY: No such process")
            linux64 = "linux64" in state["config"]["modules"]
            for rule in rules:
                mount["visible"] = freebsd_devfs.apply(mount["visible"], rule, linux64,
                                                       _int_keys(state["devfs_rulesets"]),
                                                       state["config"]["devfs_rule_depth"])

    def devfs_ruleset_rules(self, number: int) -> list[str]:
        """`devfs -m /dev rule -s N show` (DEVFSIO_RGETNEXT until ENOENT): numbered
        lines, autonumbered by 100 (devfs_rule_autonumber), in rulespec_outfp's
        format (`include 1` as `include 1`, conditions first, mode in octal);
        nothing, and no error, for a missing ruleset as for an empty one."""
        if not 1 <= number <= 65535:
            raise ValueError(f"devfs ruleset {number}: only 1..65535 can be shown by number")
        with self._state() as state:
            self._enter(state, "devfs_ruleset_rules", number)
            if self._caller_jail(state)["jid"] != 0:
                # devfs_rule.c devfs_rules_ioctl: priv_check PRIV_DEVFS_RULE, which
                # kern_jail.c prison_priv_check never grants to a jail.
                raise KernelError("devfs rule show", errno.EPERM, str(number),
                                  detail="devfs rule: ioctl DEVFSIO_RGETNEXT: "
                                         "Operation not permitted")
            rules = state["devfs_rulesets"].get(str(number), [])
            return [freebsd_devfs.show_rule(100 * (i + 1), rule)
                    for i, rule in enumerate(rules)]

    def devfs_rule_depth(self) -> int:
        """sysctl vfs.devfs.rule_depth (config `devfs_rule_depth`, default 1)."""
        with self._state() as state:
            self._enter(state, "devfs_rule_depth")
            return int(state["config"]["devfs_rule_depth"])

    # --- rctl, cpuset, network ------------------------------------------------------
    @staticmethod
    def _racct(state: dict[str, Any], op: str, arg: str) -> None:
        """kern_rctl.c: every rctl syscall is ENOSYS while kern.racct.enable=0,
        the GENERIC default (RACCT_DEFAULT_TO_DISABLED)."""
        if not state["config"]["racct"]:
            raise KernelError(op, errno.ENOSYS, arg, detail="RACCT/RCTL present, "
                              "but disabled; enable using kern.racct.enable=1 tunable")

    def racct_enabled(self) -> bool:
        """sysctl kern.racct.enable (config `racct`, off as on GENERIC)."""
        with self._state(write=False) as state:
            return bool(state["config"]["racct"])

    def rctl_add(self, rule: str) -> None:
        with self._state() as state:
            self._enter(state, "rctl_add", rule)
            self._racct(state, "rctl -a", rule)
            subject, _, rest = rule.partition(":")
            name, _, body = rest.partition(":")
            # kern_rctl.c: rctl_string_to_rule refuses unknown names (EINVAL), then
            # rctl_rule_add refuses what makes no sense for the resource (EOPNOTSUPP).
            try:
                if subject != "jail" or not name:
                    raise ConfigError("subject must be jail:<name>")
                resource, action, _, per = parse_rctl(body, "rctl")
            except ConfigError as err:
                raise KernelError("rctl -a", errno.EINVAL, rule, detail=str(err)) from err
            if rctl_refusal(resource, action, per) is not None:
                raise KernelError("rctl -a", errno.EOPNOTSUPP, rule,
                                  detail=rctl_refusal(resource, action, per))
            key = f"jail:{name}:{resource}:{action}="
            state["rctl"] = [r for r in state["rctl"] if not r.startswith(key)] + [rule]

    def rctl_remove(self, rule_filter: str) -> None:
        with self._state() as state:
            self._enter(state, "rctl_remove", rule_filter)
            self._racct(state, "rctl -r", rule_filter)
            f = rule_filter.rstrip(":")
            keep = [r for r in state["rctl"] if not r.startswith((f + ":", f + "="))]
            if len(keep) == len(state["rctl"]):
                raise KernelError("rctl -r", errno.ESRCH, rule_filter, detail="no such rule")
            state["rctl"] = keep

    def cpuset(self, jid: int, cpus: str) -> None:
        with self._state() as state:
            self._enter(state, "cpuset", jid, cpus)
            if str(jid) not in state["jails"]:
                raise KernelError("cpuset -j", errno.ESRCH, str(jid), detail="no such jail")
            try:
                check_cpu_list(cpus)
            except ConfigError as err:
                raise KernelError("cpuset -j", errno.EINVAL, cpus, detail=str(err)) from err
            top = max(int(p) for item in cpus.split(",") for p in item.split("-"))
            if top >= state["config"]["ncpu"]:
                raise KernelError("cpuset -j", errno.EINVAL, cpus, detail="no such CPU")
            state["cpusets"][str(jid)] = cpus

    def ifconfig_alias(self, interface: str, address: str, *, add: bool) -> None:
        with self._state() as state:
            self._enter(state, "ifconfig_alias", interface, address, add)
            self._settle(state)
            if interface not in state["config"]["interfaces"] \
                    or interface in state["vnet_ifaces"]:
                raise KernelError("ifconfig", errno.ENXIO, interface,
                                  detail=f"interface {interface} does not exist")
            have = state["aliases"].get(interface, [])
            if add:
                if address in have:
                    raise KernelError("ifconfig alias", errno.EEXIST, address)
                state["aliases"][interface] = [*have, address]
            else:
                if address not in have:
                    raise KernelError("ifconfig -alias", errno.EADDRNOTAVAIL, address)
                have.remove(address)
                if not have:
                    del state["aliases"][interface]

    def host_interface(self, interface: str) -> bool:
        """Whether `interface` is in the host's network stack now."""
        with self._state() as state:
            self._settle(state)
            return interface in state["config"]["interfaces"] and \
                interface not in state["vnet_ifaces"]

    def destroy_interface(self, interface: str) -> None:
        """`ifconfig <if> destroy` wherever it is now (an epair's end in a jail, say):
        sys/net/if_clone.c if_clone_destroy; gone from every network stack."""
        with self._state() as state:
            state["config"]["interfaces"] = [i for i in state["config"]["interfaces"]
                                             if i != interface]
            state["vnet_ifaces"].pop(interface, None)
            state["aliases"].pop(interface, None)

    def ifconfig_vnet(self, interface: str, jid: int) -> None:
        with self._state() as state:
            self._enter(state, "ifconfig_vnet", interface, jid)
            self._settle(state)
            if interface not in state["config"]["interfaces"] \
                    or interface in state["vnet_ifaces"]:
                raise KernelError("ifconfig vnet", errno.ENXIO, interface,
                                  detail=f"interface {interface} does not exist")
            # sys/net/if.c if_vmove_loan: ENXIO for a jid not found among the
            # caller's children, EEXIST when the jail shares the interface's vnet.
            jail = state["jails"].get(str(jid))
            if jail is None:
                raise KernelError("ifconfig vnet", errno.ENXIO, str(jid), detail="no such jail")
            if jail["params"].get("vnet") != "new":
                raise KernelError("ifconfig vnet", errno.EEXIST, interface,
                                  detail="jail has no vnet of its own")
            state["vnet_ifaces"][interface] = jid

    def ifconfig_unvnet(self, interface: str, jid: int) -> None:
        """SIOCSIFRVNET, sys/net/if.c if_vmove_reclaim: ENXIO for a jid not among
        the caller's jails (prison_find_child), ENXIO for an interface not in that
        jail's vnet (ifunit there: destroyed inside it, or never moved in), EEXIST
        when that vnet is the caller's own (a jail without vnet=new); otherwise
        if_vmove takes it back into the caller's (the host's) vnet at once."""
        with self._state() as state:
            self._enter(state, "ifconfig_unvnet", interface, jid)
            self._settle(state)
            jail = state["jails"].get(str(jid))
            if jail is None:
                raise KernelError("ifconfig -vnet", errno.ENXIO, str(jid), detail="no such jail")
            if jail["params"].get("vnet") != "new":
                on_host = interface in state["config"]["interfaces"] \
                    and interface not in state["vnet_ifaces"]
                raise KernelError("ifconfig -vnet", errno.EEXIST if on_host else errno.ENXIO,
                                  interface, detail="jail has no vnet of its own")
            if state["vnet_ifaces"].get(interface) != jid:
                raise KernelError("ifconfig -vnet", errno.ENXIO, interface,
                                  detail=f"interface {interface} is not in jail {jid}")
            del state["vnet_ifaces"][interface]

    def setrlimit(self, resource: int, soft: int, hard: int) -> None:
        """sys/kern/kern_resource.c kern_proc_setrlimit on the calling process:
        EINVAL for a number at or past RLIM_NLIMITS (15 on 14.x, 16 on 15.0);
        a negative limit is RLIM_INFINITY; raising above the current hard limit
        needs PRIV_PROC_SETRLIMIT (root, jailed root too: prison_priv_check);
        a soft limit above the hard one is lowered to it, not refused;
        RLIMIT_NOFILE and RLIMIT_NPROC are clamped to kern.maxfilesperproc and
        kern.maxprocperuid. The process is real: the limit is set on it too where
        Linux has one of that name, and every limit is recorded in `rlimits`
        (pid -> FreeBSD number -> [soft, hard])."""
        import resource as linux

        with self._state() as state:
            self._enter(state, "setrlimit", resource, soft, hard)
            nlimits = 16 if int(state["config"].get("release", 14)) >= 15 else 15
            if not 0 <= resource < nlimits:
                raise KernelError("setrlimit", errno.EINVAL, str(resource),
                                  detail=f"no resource {resource} (RLIM_NLIMITS {nlimits})")
            soft = RLIM_INFINITY if soft < 0 else soft
            hard = RLIM_INFINITY if hard < 0 else hard
            names = [n for n, number in RLIMITS.items() if number == resource]
            linux_kind = next((getattr(linux, n) for n in names if hasattr(linux, n)), None)
            mine = state.setdefault("rlimits", {}).setdefault(str(os.getpid()), {})
            if linux_kind is not None:
                now = linux.getrlimit(linux_kind)[1]
                current = RLIM_INFINITY if now == linux.RLIM_INFINITY else now
            else:
                current = mine.get(str(resource), [RLIM_INFINITY, RLIM_INFINITY])[1]
            if (soft > current or hard > current) and os.geteuid() != 0:
                raise KernelError("setrlimit", errno.EPERM, str(resource),
                                  detail="raising a hard limit needs PRIV_PROC_SETRLIMIT")
            soft = min(soft, hard)
            ceiling = {RLIMITS["RLIMIT_NOFILE"]: state["config"].get("maxfilesperproc"),
                       RLIMITS["RLIMIT_NPROC"]: state["config"].get("maxprocperuid")}
            top = ceiling.get(resource)
            if top is not None:
                soft, hard = min(soft, top), min(hard, top)
            if linux_kind is not None:
                def real(value: int) -> int:
                    return linux.RLIM_INFINITY if value == RLIM_INFINITY else value

                try:
                    linux.setrlimit(linux_kind, (real(soft), real(hard)))
                except (OSError, ValueError) as err:
                    code = getattr(err, "errno", None) or errno.EPERM
                    raise KernelError("setrlimit", code, str(resource),
                                      detail=f"this Linux host refused it: {err}") from None
            mine[str(resource)] = [soft, hard]

    # --- credentials: sys/kern/kern_prot.c -----------------------------------------
    def _creds(self, state: dict[str, Any]) -> dict[str, Any]:
        """The calling process's ucred as FreeBSD keeps it, in `creds` (pid ->
        ruid, euid, svuid, rgid, egid, svgid, groups: the supplementary ones),
        first read from the real process."""
        pid = str(os.getpid())
        creds: dict[str, Any] = state.setdefault("creds", {})
        if pid not in creds:
            (ruid, euid, svuid), (rgid, egid, svgid) = os.getresuid(), os.getresgid()
            creds[pid] = {"ruid": ruid, "euid": euid, "svuid": svuid, "rgid": rgid,
                          "egid": egid, "svgid": svgid,
                          "groups": sorted(set(os.getgroups()) - {egid})}
        mine: dict[str, Any] = creds[pid]
        return mine

    def setgroups(self, groups: list[int]) -> None:
        """kern_prot.c: EINVAL past kern.ngroups (NGROUPS_MAX; before 15.0 one
        more, the egid's slot), then EPERM without PRIV_CRED_SETGROUPS (root,
        jailed root too: kern_setgroups). Before 15.0 (14's sys_setgroups; 15.0
        gives it to binaries built for 14 as freebsd14_setgroups) groups[0]
        becomes the effective gid (cr_gid) and the rest the supplementary groups
        (an empty list keeps the egid); from 15.0 (sys_setgroups) every entry is
        supplementary and the egid is left alone. The supplementary set is kept
        sorted, each once (kern_setgroups' groups_normalize). The process is real:
        its Linux credentials are set to match."""
        with self._state() as state:
            self._enter(state, "setgroups", list(groups))
            release = int(state["config"].get("release", 14))
            limit = NGROUPS_MAX + (1 if release < 15 else 0)
            if len(groups) > limit:
                raise KernelError("setgroups", errno.EINVAL, None,
                                  detail=f"{len(groups)} groups (at most {limit})")
            cred = self._creds(state)
            if cred["euid"] != 0:
                raise KernelError("setgroups", errno.EPERM, None,
                                  detail="needs PRIV_CRED_SETGROUPS")
            if release < 15:
                egid = groups[0] if groups else cred["egid"]
                supplementary = sorted(set(groups[1:]))
            else:
                egid, supplementary = cred["egid"], sorted(set(groups))
            os.setgroups(supplementary)
            os.setresgid(-1, egid, -1)
            cred["egid"], cred["groups"] = egid, supplementary

    def setgid(self, gid: int) -> None:
        """sys_setgid (POSIX_APPENDIX_B_4_2_2, no _POSIX_SAVED_IDS): the real gid or
        the egid needs no privilege and sets the egid; any other needs
        PRIV_CRED_SETGID (EPERM). With the privilege all three gids change."""
        with self._state() as state:
            self._enter(state, "setgid", gid)
            cred = self._creds(state)
            privileged = cred["euid"] == 0
            if gid not in (cred["rgid"], cred["egid"]) and not privileged:
                raise KernelError("setgid", errno.EPERM, str(gid),
                                  detail="needs PRIV_CRED_SETGID")
            if privileged or gid == cred["egid"]:
                cred["rgid"] = cred["svgid"] = gid
            cred["egid"] = gid
            os.setresgid(cred["rgid"], gid, cred["svgid"])

    def setuid(self, uid: int) -> None:
        """sys_setuid, as sys_setgid for the uids (PRIV_CRED_SETUID). Recorded
        before the real process changes uid: after it, the simulator's state
        (root's files) is out of its reach."""
        with self._state() as state:
            self._enter(state, "setuid", uid)
            cred = self._creds(state)
            privileged = cred["euid"] == 0
            if uid not in (cred["ruid"], cred["euid"]) and not privileged:
                raise KernelError("setuid", errno.EPERM, str(uid),
                                  detail="needs PRIV_CRED_SETUID")
            if privileged or uid == cred["euid"]:
                cred["ruid"] = cred["svuid"] = uid
            cred["euid"] = uid
        os.setresuid(cred["ruid"], uid, cred["svuid"])

    def kill(self, pid: int, signal: int) -> None:
        try:
            os.kill(pid, signal)
        except ProcessLookupError as err:
            raise KernelError("kill", errno.ESRCH, str(pid)) from err


def _strtoul(text: str) -> int | None:
    """strtoul(text, &end, 10) when it consumes all of `text` (so "" is 0), else None."""
    match = re.fullmatch(r"\s*([+-]?)(\d*)", text)
    if match is None or (not match.group(2) and text):
        return None
    value = min(int(match.group(2) or 0), 2**64 - 1)
    return (-value) % 2**64 if match.group(1) == "-" else value


def _c_int(value: int) -> int:
    """An unsigned long stored into a C int (jid)."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def _int_keys(rulesets: dict[str, list[str]]) -> dict[int, list[str]]:
    return {int(k): v for k, v in rulesets.items()}


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _start_time(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).create_time())
