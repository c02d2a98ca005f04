# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""FreeBSDBackend: a container is a persistent jail plus host-side mounts.

Plan first (`plan.build_plan`, pure), act second: `prepare` performs the
plan through a `JailKernel`, appending an undo entry *before* each change;
`destroy` (in `teardown.py`) replays those entries, so it works after a
create that died at any point. Processes join with jail_attach(2), which
chroots and switches vnet, SysV and UTS state in one call.
"""

import errno

from pyocijail.backends.base import BackendBase
from pyocijail.backends.freebsd.kernel import (
    P_PID,
    PROC_TRACE_CTL,
    PROC_TRACE_CTL_DISABLE,
    RLIM_INFINITY,
    RLIMITS,
    SYSV_PARAMS,
    JailKernel,
    mount_flags,
)
from pyocijail.errors import ConfigError, KernelError
from pyocijail.failpoints import failpoint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from pyocijail.backends.base import UndoLog
    from pyocijail.backends.freebsd.mounts import MountOp
    from pyocijail.backends.freebsd.plan import JailPlan
    from pyocijail.log import LogSink
    from pyocijail.spec.model import Process, Resources, Spec


class FreeBSDBackend(BackendBase):
    name = "freebsd"
    supports_freeze = True
    supports_update = True
    #: the init and exec open a terminal before jail_attach (`process/init.py`
    #: `_open_terminal`; F4): libutil's openpty opens /dev/pts/N by name.
    pty_before_enter = True

    def __init__(self, kernel: "JailKernel | None", log: "LogSink") -> None:
        if kernel is not None and getattr(log, "debugging", False):
            kernel = TracingKernel(kernel, log)
        self._kernel, self.log = kernel, log
        self._jid: int | None = None

    @property
    def kernel(self) -> "JailKernel":
        if self._kernel is None:
            raise KernelError("jail", errno.ENOSYS,
                              detail="no FreeBSD kernel here: this backend can only plan")
        return self._kernel

    # --- pure -------------------------------------------------------------------
    def plan(self, container_id: str, spec: "Spec", bundle: str, state_dir: str) -> "JailPlan":
        from pyocijail.backends.freebsd.plan import build_plan, host_release
        plan = build_plan(container_id, spec, bundle, state_dir,
                          release=lambda: host_release(self._kernel))
        for warning in plan.warnings:
            self.log.warn(warning)
        return plan

    def features(self) -> "dict[str, Any]":
        from pyocijail.backends.freebsd.mounts import recognised_options
        return {"mountOptions": recognised_options(),
                "potentiallyUnsafeConfigAnnotations": ["org.freebsd."]}

    # --- create, in the runtime process -------------------------------------------
    def recorded(self, plan: "JailPlan") -> "dict[str, Any]":
        """What create writes into the state before `prepare` journals anything:
        this container's own paths and names, which teardown holds every journal
        entry to (a planted or edited journal names nothing outside them)."""
        return {"own": {
            "stateDir": plan.state_dir, "rootfs": plan.rootfs, "jailPath": plan.path,
            "volumes": sorted({op.source for op in plan.mounts
                               if op.fstype == "nullfs" and not op.file}),
            "jail": plan.name, "parent": plan.jail.parent or None,
            "aliases": [[plan.jail.alias_interface, a] for a in plan.alias_addresses]
            if plan.jail.alias_interface else [],
        }}

    def prepare(self, plan: "JailPlan", undo: "UndoLog") -> "dict[str, Any]":  # noqa: C901 - jail(8)'s create steps, in the kernel's order
        import os
        k = self.kernel
        self._check_devfs_rulesets(plan)  # first: a refusal leaves nothing to undo
        if plan.rctl and not k.racct_enabled():
            # Before anything exists; otherwise rctl -a fails once the jail is made.
            raise ConfigError("resource limits need RACCT/RCTL, off on this host: set "
                              "kern.racct.enable=1 in /boot/loader.conf and reboot")
        where = getattr(undo, "path", None)
        if isinstance(where, str):
            # Next to the journal, before its first entry: what teardown holds the
            # entries to when the state is unreadable (teardown.SCOPE_FILE).
            from pyocijail import jsonlite
            from pyocijail.backends.freebsd.teardown import SCOPE_FILE
            from pyocijail.state.store import write_atomic

            write_atomic(os.path.join(os.path.dirname(where), SCOPE_FILE),
                         jsonlite.dumps(self.recorded(plan)).encode())
        params = dict(plan.jail.params)
        parent = plan.jail.parent
        if parent:
            try:
                info = k.jail_get(parent)
            except KernelError as err:
                if err.errno == errno.ENOENT:
                    raise ConfigError(f'parent jail "{parent}" does not exist') from err
                raise
            params = self._within_parent(params, plan.jail.soft, info)
            if info["children.cur"] + 1 > info["children.max"]:
                # podman creates its own vnet jail with children.max=1.
                raised = info["children.cur"] + 1
                undo.append({"op": "children.max", "jail": parent, "raised_to": raised})
                k.jail_set({"name": parent, "children.max": raised}, create=False)
                # Confirmed after the fact: lowering is only right if we raised it.
                # (A crash between the two leaves the limit one higher: harmless.)
                undo.append({"op": "children.max.raised", "jail": parent})
        # The read-only alias must be mounted before the jail exists: a jail's
        # root is the directory vnode at creation, and a later mount would only
        # cover it from the host's side.
        early = [i for i, op in enumerate(plan.mounts) if op.target == plan.path]
        for index in early:
            self._mount_step(plan, index, undo)
        undo.append({"op": "jail", "name": plan.name})
        if params.get("allow.mount") and params.get("enforce_statfs", 2) < 2:
            # Its root may mount inside it: delete looks for those there (F10).
            undo.append({"op": "jail.mounts", "root": plan.path})
        jid = k.jail_set(params, create=True)
        failpoint("create.freebsd.after-jail")
        undo.append({"op": "jid", "name": plan.name, "jid": jid})
        self._jid = jid
        for index in range(len(plan.mounts)):
            if index not in early:
                self._mount_step(plan, index, undo)
        if plan.rctl:
            undo.append({"op": "rctl", "filter": f"jail:{plan.name}"})
            for rule in plan.rctl:
                k.rctl_add(rule)
            failpoint("create.freebsd.after-rctl")
        if plan.cpuset:
            k.cpuset(jid, plan.cpuset)  # the jail's cpuset dies with it: no undo
        iface = plan.jail.alias_interface
        for address in plan.alias_addresses if iface else ():
            assert iface is not None
            undo.append({"op": "alias", "interface": iface, "address": address})
            k.ifconfig_alias(iface, address, add=True)
        for vif in plan.jail.vnet_interfaces:
            # Taken back before jail_remove by destroy (`ifconfig <if> -vnet <jid>`).
            undo.append({"op": "vnet.interface", "interface": vif, "jail": plan.name})
            k.ifconfig_vnet(vif, jid)
        # The jid as an annotation in `state`: jail managers look for it there.
        return {"jid": jid, "jail": plan.name,
                "annotations": {"org.freebsd.jail.jid": str(jid)}, **self.recorded(plan)}

    def _check_devfs_rulesets(self, plan: "JailPlan") -> None:
        """Refuse a devfs mount whose ruleset (other than 0) does not hide every host
        device before it unhides some.

        nmount creates a missing ruleset empty (devfs(5); devfs_rule.c
        devfs_ruleset_use), and an empty one hides nothing: a typo, or a host where
        /etc/rc.d/devfs never loaded /etc/defaults/devfs.rules, would hand the
        container every host device. `devfs rule -s N show` lists nothing for both.
        A ruleset with rules can hide nothing too (stock 2 and 3 only unhide): what
        counts is in `devfsrules`, which reads included rulesets the same way.
        """
        from pyocijail.backends.freebsd.devfsrules import hides_everything_first
        checks = [(f"mount {m.destination}", n) for m, n in plan.devfs_ruleset_checks()]
        jailed = plan.jail.params.get("devfs_ruleset")
        if jailed and jailed not in {n for _, n in checks}:
            # What devfs mounted inside the jail gets (allow.mount.devfs).
            checks.append(("the jail's devfs_ruleset", jailed))
        if not checks:
            return
        shown: dict[int, list[str]] = {}

        def rules_of(number: int) -> list[str]:
            if number not in shown:
                shown[number] = self.kernel.devfs_ruleset_rules(number)
            return shown[number]

        try:
            rules_of(checks[0][1])
        except KernelError as err:
            if err.errno != errno.EPERM:
                raise
            # The runtime runs in a jail (podman in a jail): reading rules needs
            # PRIV_DEVFS_RULE, never granted there, and devfs_mount gives every
            # devfs mounted from inside the jail's own ruleset anyway (another one
            # is EPERM): that is the host administrator's to choose. Debug, not a
            # warning: a warning in --log breaks podman's parse of a failed create.
            self.log.debug(f"cannot read devfs rules ({err}): in a jail, whose own "
                           "devfs_ruleset applies to its devfs mounts; not checked")
            return
        depth: int | None = None
        for what, number in checks:
            where = f"{what}: devfs ruleset {number}"
            if not rules_of(number):
                raise ConfigError(
                    f"{where} does not exist or holds no rules on this host, so the mount "
                    "would hide no device (FreeBSD creates a missing ruleset empty); load it "
                    "(/etc/devfs.rules, `service devfs restart`) or write ruleset=0 to ask "
                    "for every host device")
            if depth is None:
                depth = self.kernel.devfs_rule_depth()
            why = hides_everything_first(number, rules_of, depth)
            if why:
                raise ConfigError(
                    f"{where} {why}, so the container would see host devices it was not "
                    "given; start the ruleset with `include 1` (devfsrules_hide_all, as "
                    "ruleset 4 devfsrules_jail does) or write ruleset=0 to ask for every "
                    "host device")

    def _within_parent(self, params: "dict[str, Any]", soft: tuple[str, ...],
                       parent: "dict[str, Any]") -> "dict[str, Any]":
        """Weaken defaulted settings to what the parent jail permits.

        A child cannot have an allow.* its parent lacks (EPERM), a lower
        enforce_statfs, nor SysV IPC its parent has disabled. ocijail drops
        allow.chflags then; we do the same for every *defaulted* setting, and
        let explicit ones fail.
        """
        out = dict(params)
        for key in soft:
            if key.startswith("allow.") and out.get(key) is True and not parent.get(key):
                self.log.debug(f"parent jail lacks {key}: not setting it")
                del out[key]
            elif key == "enforce_statfs" and out[key] < parent.get("enforce_statfs", 0):
                out[key] = parent["enforce_statfs"]
            elif key in SYSV_PARAMS and parent.get(key) == "disable" and out[key] != "disable":
                # sysv_{msg,sem,shm}.c *_prison_check: new or inherit under a
                # parent whose SysV IPC is disabled is EPERM.
                self.log.debug(f"parent jail has {key}=disable: so does this one")
                out[key] = "disable"
        return out

    def _mount_step(self, plan: "JailPlan", index: int, undo: "UndoLog") -> None:
        for point in plan.mountpoints:
            if point.mount == index:
                self._make_point(plan, point.path, point.kind, undo)
        self._mount(plan, index, plan.mounts[index], undo)
        failpoint("create.freebsd.after-mount")

    def _make_point(self, plan: "JailPlan", path: str, kind: str, undo: "UndoLog") -> None:
        """Create a missing mount point without following links the image may have
        planted since plan resolved it: from a trusted anchor (the jail's root, its
        parent for the read-only alias, a nullfs source), component by component."""
        import os

        from pyocijail.rootpath import open_parent_beneath
        real = self.kernel.host_path(path)
        if os.path.lexists(real):
            return  # made by someone else (or by an earlier, interrupted create)
        anchor = _anchor(real, plan)
        undo.append({"op": "mountpoint", "path": real, "kind": kind, "anchor": anchor})
        try:  # the rootfs may have changed since plan: an error, not a traceback
            parent, name = open_parent_beneath(anchor, real)
            try:
                if kind == "dir":
                    os.mkdir(name, 0o755, dir_fd=parent)
                else:
                    os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                     | os.O_CLOEXEC, 0o644, dir_fd=parent))
            finally:
                os.close(parent)
        except OSError as err:
            raise KernelError("mkdir" if kind == "dir" else "create", err.errno, path) from None

    def _mount(self, plan: "JailPlan", index: int, op: "MountOp", undo: "UndoLog") -> None:
        import os
        import shutil

        from pyocijail.backends.freebsd.fsids import mount_checked
        k = self.kernel
        scratch = None
        if op.tmpcopyup:
            covered = k.host_path(op.target)
            if os.path.isdir(covered) and os.listdir(covered):
                scratch = os.path.join(plan.state_dir, f"tmpcopyup-{index}")
                undo.append({"op": "scratch", "path": scratch})
                _copy_tree(covered, scratch)
        undo.append({"op": "mount", "target": op.target, "fstype": op.fstype})
        # No copy fallback for a file nullfs refuses: 14.x nullfs mounts files
        # (null_vfsops.c VFS_SET with VFCF_FILEMOUNT) and vfs_mount.c
        # vfs_domount_first answers EINVAL, not ENOTDIR, for what it refuses (a
        # type mismatch, a hard-linked file), so a fallback keyed on ENOTDIR could
        # only run on pre-13.2 kernels. It also wrote through links the jail could
        # plant (copy at create, restore at delete). A refusal is an error.
        try:
            mount_checked(k, op.fstype, op.source, op.target, mount_flags(op.flags),
                          dict(op.data), undo)
        except KernelError as err:
            links = _links(k.host_path(op.target)) if op.file else 1
            if err.errno != errno.EINVAL or links == 1:
                raise
            raise KernelError("nmount", errno.EINVAL, op.target, detail=(
                f"the image's file has {links} hard links, and FreeBSD mounts a file "
                "only over a file with one (vfs_mount.c vfs_domount_first)")) from err
        for rule in op.rules:
            k.devfs_rule_apply(op.target, rule)
        if scratch is not None:
            # ocijail left this scratch copy behind; it is removed here and,
            # after a crash, by destroy.
            _copy_tree(scratch, k.host_path(op.target))
            shutil.rmtree(scratch)

    def fork(self, plan: "JailPlan", child: "Callable[[], None]") -> int:
        """A plain fork: no pid namespace; init joins the jail itself in `enter`."""
        from pyocijail.process.spawn import fork_child

        return fork_child(child)

    def adopt(self, plan: "JailPlan", pid: int, undo: "UndoLog") -> None:
        """Nothing to do: jail membership comes from jail_attach in init."""

    # --- init process --------------------------------------------------------------
    def isolate(self, plan: "JailPlan", undo: "UndoLog") -> None:
        """Nothing to do: the jail and mounts were made from the host by prepare."""

    def enter_hook(self, plan: "JailPlan") -> None:
        self.enter(plan)

    def enter(self, plan: "JailPlan") -> None:
        jid = self._jid if self._jid is not None else self.kernel.jail_get(plan.name)["jid"]
        self._attach(jid)

    def _attach(self, jid: int) -> None:
        """jail_attach(2), untraceable until execve.

        Once attached, the jail's root (same jail, same uid, no P_SUGID) could
        ptrace this process and use its host descriptors (the sync channel, the
        console socket, preserved fds). So tracing is disabled first: before the
        attach rather than just after it (as issue 15 worded it), leaving no
        moment in the jail with tracing on; P2_NOTRACE survives jail_attach and
        is cleared by execve (procctl(2) PROC_TRACE_CTL_DISABLE)."""
        import os
        self.kernel.procctl(P_PID, os.getpid(), PROC_TRACE_CTL, PROC_TRACE_CTL_DISABLE)
        self.kernel.jail_attach(jid)

    def planned_process(self, plan: "JailPlan | None", process: "Process") -> "Process":
        """Exactly the plan's process (`plan.ProcessPlan`, what `pyocijail plan`
        prints): create's plan in the init; for exec the process file planned
        the same way (`plan.process_plan`), so it is checked as create checks."""
        if plan is not None:
            if plan.process is None:  # create refuses a config without a process
                raise ConfigError("config.json: process is required to create a container")
            return plan.process.applied_to(process)
        from pyocijail.backends.freebsd.plan import host_release, process_plan

        return process_plan(process, lambda: host_release(self._kernel)).applied_to(process)

    def apply_rlimits(self, plan: "JailPlan | None", process: "Process") -> None:
        """setrlimit(2) with FreeBSD's numbers (`kernel.RLIMITS`): at create exactly
        the limits of the plan `pyocijail plan` prints, not the spec mapped again;
        for exec (no plan) the process file's, checked as create checks them.
        Values beyond rlim_t (podman's 2**64 - 1 for unlimited) are RLIM_INFINITY."""
        if plan is not None:
            limits = plan.process.rlimits if plan.process is not None else ()
        else:
            from pyocijail.backends.freebsd.plan import host_release, plan_rlimits

            limits = plan_rlimits(process.rlimits, lambda: host_release(self._kernel))
        for name, soft, hard in limits:
            try:
                self.kernel.setrlimit(RLIMITS[name], min(soft, RLIM_INFINITY),
                                      min(hard, RLIM_INFINITY))
            except KernelError as err:  # the core's words (process/setup.apply_rlimits)
                raise KernelError(f"setrlimit {name} ({soft}, {hard})", err.errno) from None

    def become(self, process: "Process") -> None:
        """setgroups → setgid → setuid, through the kernel, with exactly the planned
        ids (`planned_process`: the plan's groups beyond gid, each once). FreeBSD
        before 15.0 takes groups[0] as the effective gid: gid goes first, so the
        supplementary set is right on both old and new semantics."""
        user = process.user
        k = self.kernel
        k.setgroups((user.gid, *user.additional_gids))
        k.setgid(user.gid)
        k.setuid(user.uid)

    def before_exec(self, process: "Process") -> None:
        """Nothing: FreeBSD has no seccomp; capabilities do not apply to jails."""

    def exec_fds(self) -> tuple[int, ...]:
        return ()

    def execve(self, path: str, args: list[str], env: dict[str, str], report_fd: int) -> None:
        """A plain execve, unlike Linux's exec helper: FreeBSD's procfs, linprocfs
        and fdescfs have no magic links (`/proc/curproc/file` is a path resolved
        inside the jail), so a `#!/proc/curproc/file` script cannot reach the
        host interpreter (CVE-2019-5736 does not apply)."""
        import os
        os.execve(path, args, env)

    # --- a running container ----------------------------------------------------------
    def _jid_of(self, state: "dict[str, Any]") -> int | None:
        """The recorded jid, if a jail of the recorded name still has it."""
        jid, name = state.get("jid"), state.get("jail")
        if jid is None or name is None:
            return None
        try:
            info = self.kernel.jail_get(name)
        except KernelError as err:
            if err.errno == errno.ENOENT:
                return None
            raise
        return int(jid) if info["jid"] == jid else None

    def fork_joined(self, state: "dict[str, Any]", pid: int, child: "Callable[[], None]") -> int:
        from pyocijail.process.spawn import fork_child

        return fork_child(child)

    def join(self, state: "dict[str, Any]", pid: int) -> None:
        jid = self._jid_of(state)
        if jid is None:
            raise KernelError("jail_attach", errno.ENOENT, state.get("jail"),
                              detail="the container's jail is gone")
        self._attach(jid)

    def processes(self, state: "dict[str, Any]", pid: int) -> "Iterator[int]":
        """Every process in the jail and its child jails (a pod's members too)."""
        jid = self._jid_of(state)
        return iter(self.kernel.jail_pids(jid) if jid is not None else [])

    def freeze(self, state: "dict[str, Any]", pid: int, frozen: bool) -> None:
        """SIGSTOP (or SIGCONT) every process in the jail and its child jails.

        FreeBSD has no freezer; stopping each member is what `pause` can do.
        The core records the paused status. `delete --force` thaws through
        here, so this stays lean: `_signal`, not `signal` (which builds enums)."""
        import _signal
        self._signal_all(state, pid, _signal.SIGSTOP if frozen else _signal.SIGCONT)

    def _signal_all(self, state: "dict[str, Any]", pid: int, sig: int) -> None:
        for member in self.processes(state, pid):
            try:
                self.kernel.kill(member, sig)
            except KernelError:  # ESRCH: raced with exit
                pass

    def update(self, state: "dict[str, Any]", resources: "Resources") -> None:
        """Replace the jail's rctl rules and cpuset (`update --resources`)."""
        import contextlib

        from pyocijail.backends.freebsd.resources import cpu_list, rctl_rules
        jid, name = self._jid_of(state), state.get("jail")
        if jid is None or name is None:
            raise KernelError("update", errno.ESRCH, name, detail="the container's jail is gone")
        warn: list[str] = []
        rules = rctl_rules(name, resources, None, warn)
        cpus = cpu_list(resources)
        with contextlib.suppress(KernelError):  # ESRCH: there were none
            self.kernel.rctl_remove(f"jail:{name}")
        for rule in rules:
            self.kernel.rctl_add(rule)
        if cpus:
            self.kernel.cpuset(jid, cpus)

    def destroy(self, state: "dict[str, Any]", undo: "UndoLog") -> None:
        from pyocijail.backends.freebsd.teardown import destroy

        destroy(self.kernel, self.log, state, undo)


def _links(path: str) -> int:
    import os
    try:
        return os.lstat(path).st_nlink
    except OSError:
        return 1


def _copy_tree(src: str, dst: str) -> None:
    """Copy a directory's contents with modes, times and owners (we run as root)."""
    import contextlib
    import os
    import shutil
    shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
    with contextlib.suppress(OSError):
        for top, dirs, files in os.walk(src):
            for name in dirs + files:
                s = os.path.join(top, name)
                st = os.lstat(s)
                os.lchown(os.path.join(dst, os.path.relpath(s, src)), st.st_uid, st.st_gid)


class TracingKernel:
    """`--log-level debug`: every kernel call (jail parameters, mounts, devfs
    rules, rctl, signals) is written to the log before it is made."""

    def __init__(self, kernel: "JailKernel", log: "LogSink") -> None:
        self._kernel, self._log = kernel, log

    def __getattr__(self, name: str) -> "Any":
        attr = getattr(self._kernel, name)
        if not callable(attr):
            return attr

        def traced(*args: "Any", **kwargs: "Any") -> "Any":
            shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
            self._log.debug(f"freebsd: {name}({', '.join(shown)})")
            return attr(*args, **kwargs)

        return traced


def _anchor(real: str, plan: "JailPlan") -> str:
    """The deepest trusted directory above `real`: the jail's root (or the directory
    holding the read-only alias) or a nullfs source, all chosen by the config's author."""
    import os
    candidates = {plan.path, os.path.dirname(plan.path)}
    candidates |= {op.source for op in plan.mounts if op.fstype == "nullfs" and not op.file}
    below = [a for a in candidates if real.startswith(a.rstrip("/") + "/")]
    if not below:
        raise KernelError("mkdir", errno.EXDEV, real, "not inside the jail or a volume")
    return max(below, key=len)
