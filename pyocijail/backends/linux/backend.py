"""Linux namespaces behind the same seam as FreeBSD jails.

Create: the runtime enters a new (or the given) pid namespace *for its
children* only around the fork, so the init process is pid 1 there and a
direct child of the runtime (the pid file names a descendant, as conmon
needs), while hooks the runtime runs later stay in the host's namespace.
The init then unshares the other namespaces, mounts the rootfs in its new
mount namespace and pivots into it. Nothing is mounted in the host's mount
namespace, so there is nothing to unmount at delete: the mounts go with the
namespace when its last process exits.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from pyocijail.backends.linux import libc
from pyocijail.errors import ConfigError, KernelError
from pyocijail.process.spawn import fork_child
from pyocijail.spec.model import Device, Mount, Process, Spec

# namespace type (config) -> (clone flag, /proc/<pid>/ns name)
NAMESPACES = {
    "pid": (libc.CLONE_NEWPID, "pid"),
    "network": (libc.CLONE_NEWNET, "net"),
    "mount": (libc.CLONE_NEWNS, "mnt"),
    "ipc": (libc.CLONE_NEWIPC, "ipc"),
    "uts": (libc.CLONE_NEWUTS, "uts"),
    "cgroup": (libc.CLONE_NEWCGROUP, "cgroup"),
    "user": (libc.CLONE_NEWUSER, "user"),
    "time": (libc.CLONE_NEWTIME, "time"),
}
# setns order for exec: user first, mount last (it changes our root).
JOIN_ORDER = ("user", "cgroup", "ipc", "uts", "network", "pid", "time", "mount")


@attrs.frozen(kw_only=True)
class LinuxPlan:
    container_id: str
    bundle: str
    rootfs: str
    readonly: bool
    namespaces: tuple[tuple[str, str | None], ...]
    hostname: str | None
    domainname: str | None
    mounts: tuple[Mount, ...]
    devices: tuple[Device, ...]
    masked_paths: tuple[str, ...]
    readonly_paths: tuple[str, ...]
    sysctl: dict[str, str]
    rootfs_propagation: str | None

    def new(self, kind: str) -> bool:
        return (kind, None) in self.namespaces

    def path(self, kind: str) -> str | None:
        return next((p for k, p in self.namespaces if k == kind and p), None)

    def to_json(self) -> dict[str, Any]:
        from pyocijail.spec.convert import unstructure

        return {"platform": "linux", "id": self.container_id, "rootfs": self.rootfs,
                "readonly": self.readonly,
                "namespaces": [{"type": k, "path": p} if p else {"type": k}
                               for k, p in self.namespaces],
                "hostname": self.hostname, "domainname": self.domainname,
                "mounts": [unstructure(m) for m in self.mounts],
                "devices": [unstructure(d) for d in self.devices],
                "maskedPaths": list(self.masked_paths),
                "readonlyPaths": list(self.readonly_paths), "sysctl": self.sysctl}

    def to_text(self) -> str:
        lines = [f"container {self.container_id}: rootfs {self.rootfs}"
                 + (" (read-only)" if self.readonly else "")]
        for kind, path in self.namespaces:
            lines.append(f"  namespace {kind}: {'join ' + path if path else 'new'}")
        for m in self.mounts:
            lines.append(f"  mount {m.type or 'bind'} {m.source or '-'} on {m.destination}"
                         + (f" ({','.join(m.options)})" if m.options else ""))
        return "\n".join(lines) + "\n"


class LinuxBackend:
    name = "linux"

    def __init__(self, log: Any) -> None:
        self.log = log

    # --- pure -------------------------------------------------------------------------
    def plan(self, container_id: str, spec: Spec, bundle: str, state_dir: str) -> LinuxPlan:
        assert spec.root is not None
        linux = spec.linux
        rootfs = spec.root.path
        if not os.path.isabs(rootfs):
            rootfs = os.path.join(bundle, rootfs)
        rootfs = os.path.realpath(rootfs)
        if not os.path.isdir(rootfs):
            raise ConfigError(f"root.path {spec.root.path}: not a directory")
        namespaces: list[tuple[str, str | None]] = []
        for ns in linux.namespaces if linux else ():
            if ns.type not in NAMESPACES:
                raise ConfigError(f"linux.namespaces: unknown type {ns.type!r}")
            if any(k == ns.type for k, _ in namespaces):
                raise ConfigError(f"linux.namespaces: {ns.type} given twice")
            if ns.type == "user":
                raise ConfigError("user namespaces are not supported yet")
            namespaces.append((ns.type, ns.path or None))
        names = {k for k, _ in namespaces}
        if spec.hostname and "uts" not in names:
            raise ConfigError("hostname requires a new uts namespace")
        if "mount" not in names:
            raise ConfigError("a new mount namespace is required (linux.namespaces: mount)")
        for m in spec.mounts:
            if not m.destination.startswith("/"):
                raise ConfigError(f"mount destination {m.destination!r} is not absolute")
        return LinuxPlan(
            container_id=container_id, bundle=bundle, rootfs=rootfs,
            readonly=spec.root.readonly, namespaces=tuple(namespaces),
            hostname=spec.hostname, domainname=spec.domainname, mounts=spec.mounts,
            devices=linux.devices if linux else (),
            masked_paths=linux.masked_paths if linux else (),
            readonly_paths=linux.readonly_paths if linux else (),
            sysctl=dict(linux.sysctl) if linux else {},
            rootfs_propagation=linux.rootfs_propagation if linux else None)

    def features(self) -> dict[str, Any]:
        from pyocijail.backends.linux import mounts

        return {"mountOptions": sorted(mounts.KNOWN_OPTIONS)}

    # --- runtime process ----------------------------------------------------------------
    def prepare(self, plan: LinuxPlan, undo: Any) -> dict[str, Any]:
        return {"namespaces": [list(ns) for ns in plan.namespaces]}

    def fork(self, plan: LinuxPlan, child: Callable[[], None]) -> int:
        if not any(k == "pid" for k, _ in plan.namespaces):
            return fork_child(child)
        with _pid_namespace_for_children(plan.path("pid")):
            return fork_child(child)

    def adopt(self, plan: LinuxPlan, pid: int, undo: Any) -> None:
        pass

    # --- init process ---------------------------------------------------------------------
    def isolate(self, plan: LinuxPlan, undo: Any) -> None:
        from pyocijail.backends.linux import mounts, rootfs  # noqa: F401 - needed after pivot

        for kind, path in plan.namespaces:
            if path and kind != "pid":
                _setns_path(path, kind)
        flags = 0
        for kind, path in plan.namespaces:
            if path is None and kind != "pid":
                flags |= NAMESPACES[kind][0]
        self.log.debug(f"unshare {flags:#x}")
        libc.unshare(flags)
        if plan.new("uts"):
            if plan.hostname:
                libc.sethostname(plan.hostname)
            if plan.domainname:
                libc.setdomainname(plan.domainname)
        propagation = _PROPAGATION.get(plan.rootfs_propagation or "rslave", libc.MS_SLAVE)
        libc.mount(None, "/", None, libc.MS_REC | propagation, None)
        mounts.mount_all(plan.rootfs, plan.mounts, plan.bundle, log=self.log)
        mounts.setup_devices(plan.rootfs, plan.devices)

    def enter_hook(self, plan: LinuxPlan) -> None:
        pass  # the hook inherits the init's namespaces

    def enter(self, plan: LinuxPlan) -> None:
        from pyocijail.backends.linux import mounts

        mounts.pivot_root(plan.rootfs)
        if plan.sysctl:
            mounts.apply_sysctl(plan.sysctl)
        mounts.mask_paths(plan.masked_paths)
        mounts.readonly_paths(plan.readonly_paths)
        if plan.readonly:
            mounts.remount_readonly_root()

    def become(self, process: Process) -> None:
        user = process.user
        try:
            os.setgroups(list(user.additional_gids))
            os.setgid(user.gid)
            os.setuid(user.uid)
        except OSError as err:
            raise KernelError(f"set user {user.uid}:{user.gid}", err.errno) from None

    def before_exec(self, process: Process) -> None:
        if process.no_new_privileges:
            libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)

    # --- later calls -------------------------------------------------------------------
    def fork_joined(self, state: dict[str, Any], pid: int, child: Callable[[], None]) -> int:
        if not _has(state, "pid"):
            return fork_child(child)
        with _pid_namespace_for_children(f"/proc/{pid}/ns/pid"):
            return fork_child(child)

    def join(self, state: dict[str, Any], pid: int) -> None:
        fds = []
        try:
            for kind in JOIN_ORDER:
                if kind == "pid" or not _has(state, kind):
                    continue
                fds.append((kind, os.open(f"/proc/{pid}/ns/{NAMESPACES[kind][1]}",
                                          os.O_RDONLY | os.O_CLOEXEC)))
            for kind, fd in fds:
                libc.setns(fd, NAMESPACES[kind][0])
        except OSError as err:
            raise KernelError("join container", err.errno, f"/proc/{pid}/ns") from None
        finally:
            for _, fd in fds:
                os.close(fd)
        os.chdir("/")

    def processes(self, state: dict[str, Any], pid: int) -> Iterator[int]:
        """With a pid namespace: every pid in it; otherwise init's descendants."""
        if _has(state, "pid"):
            try:
                target = os.stat(f"/proc/{pid}/ns/pid").st_ino
            except OSError:
                return
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        if os.stat(f"/proc/{entry}/ns/pid").st_ino == target:
                            yield int(entry)
                    except OSError:
                        continue
            return
        import psutil

        try:
            yield from (p.pid for p in psutil.Process(pid).children(recursive=True))
        except psutil.Error:
            return

    def destroy(self, state: dict[str, Any], undo: Any) -> None:
        pass  # mounts live in the container's mount namespace and die with it


_PROPAGATION = {"private": libc.MS_PRIVATE, "rprivate": libc.MS_PRIVATE,
                "slave": libc.MS_SLAVE, "rslave": libc.MS_SLAVE,
                "shared": libc.MS_SHARED, "rshared": libc.MS_SHARED,
                "unbindable": libc.MS_UNBINDABLE, "runbindable": libc.MS_UNBINDABLE}


def _has(state: dict[str, Any], kind: str) -> bool:
    return any(ns[0] == kind for ns in state.get("namespaces", []))


def _setns_path(path: str, kind: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise KernelError(f"open {kind} namespace", err.errno, path) from None
    try:
        libc.setns(fd, NAMESPACES[kind][0])
    finally:
        os.close(fd)


@contextlib.contextmanager
def _pid_namespace_for_children(path: str | None) -> Iterator[None]:
    """Children forked inside get the new (or given) pid namespace; we keep ours."""
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if path is None:
            libc.unshare(libc.CLONE_NEWPID)
        else:
            _setns_path(path, "pid")
        try:
            yield
        finally:
            libc.setns(own, libc.CLONE_NEWPID)
    finally:
        os.close(own)
