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

import os

from pyocijail.backends.linux import libc
from pyocijail.errors import ConfigError, KernelError
from pyocijail.process.spawn import fork_child

# `delete` and `kill --all` load this module for `processes` and `destroy`:
# the plan (attrs) and the spec model are imported only where create uses them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from pyocijail.backends.linux.plan import LinuxPlan
    from pyocijail.spec.model import Process, Spec

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
        from pyocijail.backends.linux import mounts
        from pyocijail.backends.linux import rootfs as after_pivot
        from pyocijail.backends.linux.plan import LinuxPlan

        for m in spec.mounts:
            if not m.destination.startswith("/"):
                raise ConfigError(f"mount destination {m.destination!r} is not absolute")
            mounts.check_mount(m)
        if linux and linux.sysctl:
            after_pivot.check_sysctl(linux.sysctl)
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

        return {"mountOptions": sorted(mounts.MOUNT_OPTIONS)}

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
        from pyocijail.backends.linux import mounts, rootfs  # noqa: F401 - rootfs: after pivot

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
        mounts.set_root_propagation(plan.rootfs_propagation)
        mounts.mount_all(plan.rootfs, plan.mounts, plan.bundle, log=self.log)
        mounts.setup_devices(plan.rootfs, plan.devices, log=self.log)

    def enter_hook(self, plan: LinuxPlan) -> None:
        pass  # the hook inherits the init's namespaces

    def enter(self, plan: LinuxPlan) -> None:
        from pyocijail.backends.linux import rootfs

        rootfs.pivot_root(plan.rootfs, log=self.log)
        if plan.sysctl:
            rootfs.apply_sysctl(plan.sysctl, log=self.log)
        rootfs.mask_paths(plan.masked_paths, log=self.log)
        rootfs.readonly_paths(plan.readonly_paths, log=self.log)
        if plan.readonly:
            rootfs.remount_readonly_root(log=self.log)

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


class _pid_namespace_for_children:  # noqa: N801 - a context manager without contextlib
    """Children forked inside get the new (or given) pid namespace; we keep ours."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def __enter__(self) -> None:
        self.own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if self.path is None:
                libc.unshare(libc.CLONE_NEWPID)
            else:
                _setns_path(self.path, "pid")
        except BaseException:
            os.close(self.own)
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            libc.setns(self.own, libc.CLONE_NEWPID)
        finally:
            os.close(self.own)
