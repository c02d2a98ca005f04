# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Linux namespaces and cgroups behind the same seam as FreeBSD jails.

Create: `prepare` makes the container's cgroup (every hierarchy) and writes
its resources. The runtime enters a new (or the given) pid namespace *for
its children* only around the fork, so the init process is pid 1 there and
a direct child of the runtime (the pid file names a descendant, as conmon
needs), while hooks the runtime runs later stay in the host's namespace.
The init waits on a pipe until `adopt` has put it in the cgroup (so a new
cgroup namespace is rooted at the container's cgroup), then unshares the
other namespaces, mounts the rootfs in its new mount namespace and pivots
into it. With a user namespace the fork has two stages, so that the user
namespace exists first and owns every namespace made after it, the pid
namespace included (`userns`: the runtime writes the id maps, the init is
the first stage's child). Nothing is mounted in the host's mount namespace: the mounts go
with the namespace when its last process exits; `destroy` removes the cgroup.

Privileges at start (`become`, `before_exec`): oom_score_adj (through a
procfs fd checked earlier, never the container's /proc: `procfs`), the bounding
set, keep-caps across the user change, capset, ambient; then no_new_privs
and seccomp last. Without noNewPrivileges the seccomp filter is loaded
before the capabilities are dropped (it needs CAP_SYS_ADMIN then), as runc.
The init and exec processes make themselves non-dumpable before they touch
the container, so nothing in it can ptrace them or open /proc/<pid>/exe; the
program itself is exec'd by the exec helper from a sealed memfd (`execve`,
`process.exechelper`), which for `exec` also forks the process that enters
the pid namespace (`fork_joined`): the runtime never appears in the container.
"""

import posix  # not os: delete and kill --all load this (tests/unit/test_import_budget.py)

# libc (and with it ctypes) only where create and exec use it: delete and kill --all
# load this module too.
from pyocijail import pathlite
from pyocijail.backends.base import BackendBase
from pyocijail.errors import KernelError, PyocijailError

# `delete`, `kill --all` and `ps` load this module for processes()/destroy():
# what only create and exec use (capabilities, seccomp, resources, the spec
# model, fork_child) is imported in the methods — before the process changes root.
# So is `cgroups` (the layout and its value classes): destroy, all a delete of a
# stopped container calls, needs only `cgroupdirs`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from pyocijail.backends.linux import procfs, seccomp
    from pyocijail.backends.linux.cgroups import Cgroup
    from pyocijail.backends.linux.kernel import NsKernel
    from pyocijail.backends.linux.plan import LinuxPlan
    from pyocijail.spec.model import Process, Resources, Spec

SECCOMP_FILE = "seccomp.json"


class LinuxBackend(BackendBase):
    name = "linux"
    supports_freeze = True
    supports_update = True
    supports_events = True

    def __init__(self, kernel: "NsKernel | None", log: "Any") -> None:
        self._kernel = kernel  # None: this host's, on first use (`kernel`)
        self.log = log
        self._gate: int | None = None  # R: write end of the fork → adopt pipe
        self._primed: Callable[[], int] | None = None  # R: stops and joins warm_up's thread
        self._filter: seccomp.Filter | None = None  # I/E: built before entering
        self._personality: int | None = None
        self._early_error: BaseException | None = None  # I: from _before_gate
        self._trees: procfs.Trees | None = None  # I: the procfs/sysfs it mounted
        self._proc: int | None = None  # I/E: a checked procfs fd, for oom_score_adj
        self._helper: int | None = None  # I/E: the exec helper's sealed memfd
        self._handover: int | None = None  # exec: E's pid comes back on it (fork_joined)
        self._tty = False  # exec: E takes fd 0 as its controlling terminal
        self.forks_into_container = False  # exec: the helper forks E (fork_joined)

    @property
    def kernel(self) -> "NsKernel":
        """What the namespace and filesystem set-up acts through (`kernel.NsKernel`):
        the one given, else this host's, made on first use, so that delete and
        kill --all, which load this module, never load ctypes."""
        if self._kernel is None:
            from pyocijail.backends.linux.linuxkernel import LinuxKernel

            self._kernel = LinuxKernel()
        return self._kernel

    # --- pure -------------------------------------------------------------------------
    def plan(self, container_id: str, spec: "Spec", bundle: str, state_dir: str) -> "LinuxPlan":
        from pyocijail.backends.linux.plan import make_plan

        return make_plan(container_id, spec, bundle, state_dir, self.log)

    def features(self) -> "dict[str, Any]":
        from pyocijail.backends.linux import capabilities, cgroups, mountopts, seccomp

        try:
            layout = cgroups.layout(cgroups.hierarchies())
        except OSError:
            layout = "none"
        return {"mountOptions": sorted(mountopts.MOUNT_OPTIONS), "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": capabilities.names(range(capabilities.last_cap() + 1)),
            "cgroup": {"v1": layout in ("v1", "hybrid"), "v2": layout in ("v2", "hybrid"),
                       "systemd": False, "systemdUser": False, "rdma": False},
            "seccomp": {"enabled": True, "actions": sorted(seccomp.ACTIONS),
                        "operators": sorted(seccomp.OPERATORS),
                        "archs": sorted(seccomp.ARCHES),
                        "knownFlags": [*sorted(seccomp.FLAGS),
                                       "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                        "supportedFlags": sorted(seccomp.FLAGS)},
            # runtime-spec: whether the runtime supports the LSM, not whether this
            # host has it (runc says true for both too); create refuses a label or
            # profile the host cannot apply (lsm.check).
            "apparmor": {"enabled": True}, "selinux": {"enabled": True},
            "intelRdt": {"enabled": False}}}

    # --- runtime process ----------------------------------------------------------------
    def prepare(self, plan: "LinuxPlan", undo: "Any") -> "dict[str, Any]":
        from pyocijail.backends.linux import cgroups, resources

        state: dict[str, Any] = {"namespaces": [list(ns) for ns in plan.namespaces],
                                 "cgroups": [g.to_json() for g in plan.cgroups]}
        if plan.seccomp is not None:  # exec'd processes get the same filter
            state.update(self._prepare_seccomp(plan))
        cgroups.create(plan.cgroups, undo, plan.v2_enable, owner=plan.state_dir)
        resources.apply(plan.cgroup_writes, self.log)
        # what update puts after new device rules: runc's defaults, linux.devices
        state["deviceRulesTail"] = [list(r) for r in resources.device_rules((), plan.devices)]
        if plan.device_filter is not None:
            from pyocijail.backends.linux import devicefilter

            directory, rules = plan.device_filter
            devicefilter.install(directory, devicefilter.parse(rules), self.log)
        return state

    def fork(self, plan: "LinuxPlan", child: "Callable[[], None]") -> int:
        """Fork init, held on a pipe until `adopt`; with a user namespace, in two
        stages (`userns.fork_init`) and the pid returned is the stage's child."""
        from pyocijail.process.spawn import fork_child

        self._join_warm_up()
        r, w = posix.pipe2(posix.O_CLOEXEC)

        def gated() -> None:
            self._before_gate(plan)  # meanwhile R records the pid and runs `adopt`
            go = posix.read(r, 1)
            posix.close(r)
            if go != b"1":
                posix._exit(1)
            child()

        def first() -> None:
            posix.close(w)

        def init() -> None:
            first()
            gated()

        try:
            if plan.has("user"):
                from pyocijail.backends.linux import userns
                from pyocijail.process.setup import apply_rlimits
                from pyocijail.process.sync import Channel

                pid = userns.fork_init(self.kernel, plan, gated, first, self.log,
                                       channels=Channel.pair(), fork=fork_child,
                                       set_rlimits=apply_rlimits)
            elif plan.has("pid"):
                from pyocijail.backends.linux.namespaces import pid_namespace_for_children

                with pid_namespace_for_children(self.kernel, plan.path("pid")):
                    pid = fork_child(init)
            else:
                pid = fork_child(init)
        except BaseException:
            posix.close(w)
            raise
        finally:
            posix.close(r)
        self._gate = w
        return pid

    def warm_up(self) -> None:
        """Warm the cgroup migration lock for the attach of the init (create) or of
        the exec'd process (exec): that first write would wait ~10-15 ms for it."""
        if self._primed is None:  # (a second call: already warming)
            from pyocijail.backends.linux import cgroups

            self._primed = cgroups.prime_attach()

    def _join_warm_up(self) -> None:
        if self._primed is not None:
            self._primed()  # the warm-up thread is done: fork copies one thread only
            self._primed = None

    def adopt(self, plan: "LinuxPlan", pid: int, undo: "Any") -> None:
        """Put init in its cgroup, then let it go on (it unshares cgroupns after this)."""
        from pyocijail.backends.linux import cgroups

        gate, self._gate = self._gate, None
        try:
            cgroups.attach(plan.cgroups, pid)
            if gate is not None:
                try:
                    posix.write(gate, b"1")
                except BrokenPipeError:
                    # The init died in its cgroup before the gate opened (the
                    # memory limit's OOM kill: what it allocates from the attach
                    # on is charged there): create's wait on the channel says why.
                    pass
        finally:
            if gate is not None:
                posix.close(gate)

    def _prepare_seccomp(self, plan: "LinuxPlan") -> "dict[str, Any]":
        """The profile for exec, and the program compiled for an earlier container
        with the same key, if any (see `seccomp`: init builds it otherwise)."""
        from pyocijail import jsonlite
        from pyocijail.backends.linux import seccomp
        from pyocijail.spec.convert import unstructure

        assert plan.seccomp is not None
        path = f"{plan.state_dir}/{SECCOMP_FILE}"
        with open(path, "w", encoding="utf-8") as f:
            f.write(jsonlite.dumps(unstructure(plan.seccomp)))
        state: dict[str, Any] = {"seccomp": path}
        key = seccomp.program_key(plan.seccomp)
        if key is not None:
            program = f"{plan.state_dir}/{seccomp.PROGRAM_FILE}"
            state.update(seccompProgram=program, seccompKey=key)
            try:
                posix.link(f"{_program_cache(plan)}/{key}", program)
            except OSError:
                pass  # not compiled yet: init builds it and saves it there
        return state

    def created(self, plan: "LinuxPlan", state: "dict[str, Any]") -> None:
        """R, once the container is created: keep its compiled seccomp program."""
        key, program = state.get("seccompKey"), state.get("seccompProgram")
        if not key or not program:
            return  # (no filter: seccomp is not imported, 0.3 ms before create returns)
        from pyocijail.backends.linux import seccomp

        cache = _program_cache(plan)
        try:
            posix.mkdir(cache, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return
        try:
            names = posix.listdir(cache)
            if key in names:
                return
            if len(names) >= seccomp.CACHE_LIMIT:
                for name in names:
                    posix.unlink(f"{cache}/{name}")
            posix.link(program, f"{cache}/{key}")
        except OSError:
            pass  # only the next create's head start is lost

    # --- init process ---------------------------------------------------------------------
    def _before_gate(self, plan: "LinuxPlan") -> None:
        """I, before `adopt` lets it go on: the work that touches nothing of the
        container, done while R writes the state and moves I into its cgroup
        (the first cgroup.procs write waits for an RCU grace period, 5-20 ms).

        Everything the init uses after pivot_root is imported here (`preload`),
        the seccomp and cgroup-mount modules only for a config that has a filter
        or a `type: cgroup` mount (0.2-0.3 ms each, on the path to start); the seccomp
        filter is built and compiled (~25 ms for podman's profile). Memory
        allocated now is charged to the runtime's cgroup, not the container's,
        as is the rest of this copy of the runtime. An error is kept for
        `isolate` to raise, so it reaches create over the sync channel.
        """
        try:
            from pyocijail.backends.linux import capabilities, libc, preload

            preload.load(plan)
            libc.prctl(libc.PR_SET_DUMPABLE, 0)
            self._helper = _exec_helper()  # before pivot_root and seccomp
            capabilities.last_cap()  # probe now, cached for become
            if plan.seccomp is not None:
                from pyocijail.backends.linux import seccomp

                program = f"{plan.state_dir}/{seccomp.PROGRAM_FILE}"
                self._filter = seccomp.Filter.compiled(plan.seccomp, program)
                if self._filter is None:
                    self._filter = seccomp.Filter(plan.seccomp)
                    try:
                        self._filter.save(program)  # for exec, and `created` keeps it
                    except OSError:
                        # In a user namespace I is no longer host root and may not
                        # write the state dir: exec and the next create build it.
                        pass
        except BaseException as err:  # noqa: BLE001 - raised again by isolate
            self._early_error = err

    def isolate(self, plan: "LinuxPlan", undo: "Any") -> None:
        # Everything the init uses after pivot_root was imported by _before_gate.
        from pyocijail.backends.linux import devices, mounts, procfs
        from pyocijail.backends.linux.namespaces import NAMESPACES, setns_path

        if self._early_error is not None:
            raise self._early_error  # (else I is non-dumpable already)
        kernel = self.kernel
        self._personality = plan.personality
        if not plan.has("user"):  # with one, the fork's first stage joined them
            for kind, path in plan.namespaces:
                if path and kind != "pid":
                    setns_path(kernel, path, kind)
        flags = 0
        for kind, path in plan.namespaces:
            if path is None and kind not in ("pid", "user"):  # made at fork
                flags |= NAMESPACES[kind][0]
        self.log.debug(f"unshare {flags:#x}")
        kernel.unshare(flags)
        if plan.new("uts"):
            if plan.hostname:
                kernel.sethostname(plan.hostname)
            if plan.domainname:
                kernel.setdomainname(plan.domainname)
        if plan.new("network"):
            kernel.loopback_up()
        if plan.session_keyring:
            _join_session_keyring(plan)
        mounts.set_root_propagation(kernel, plan.rootfs_propagation)
        if plan.has("user"):
            _check_reachable(kernel, plan)
        # Always (runc's prepareRoot too), before anything is mounted in it: were
        # pivot_root to bind it later, the procfs and sysfs fds kept by mount_all
        # would name mounts left behind, and unbindable mounts would be dropped.
        mounts.bind_rootfs(kernel, plan.rootfs, log=self.log)

        def cgroup_mount(kernel: "NsKernel", log: "Any", root: str, dest: str,
                         opts: "Any") -> None:
            # loaded by `preload` (the plan has a cgroup mount)
            from pyocijail.backends.linux import cgroupmount

            cgroupmount.mount_cgroups(kernel, log, root, dest, opts, plan.cgroups,
                                      plan.new("cgroup"), plan.mount_label)

        self._trees = procfs.Trees(kernel)
        mounts.mount_all(kernel, plan.rootfs, plan.mounts, plan.bundle, log=self.log,
                         cgroup_mount=cgroup_mount, trees=self._trees,
                         mount_label=plan.mount_label)
        devices.setup_devices(kernel, plan.rootfs, plan.devices, log=self.log)

    def enter_hook(self, plan: "LinuxPlan") -> None:
        pass  # the hook inherits the init's namespaces

    def enter(self, plan: "LinuxPlan") -> None:
        from pyocijail.backends.linux import pivot, procfs

        kernel = self.kernel
        trees = self._trees or procfs.Trees(kernel)
        # What the host's /proc and /sys have must be there in the container's.
        expected = trees.on_host((*plan.readonly_paths, *plan.masked_paths))
        pivot.pivot_root(kernel, plan.rootfs, bound=True, log=self.log)  # (isolate bound it)
        # From here on the container's /proc is never walked: only `trees` (procfs).
        if plan.sysctl:
            pivot.apply_sysctl(kernel, plan.sysctl, log=self.log, trees=trees)
        # runc's order: a path both read-only and masked ends up masked either way,
        # but `mount` lists them as under runc.
        pivot.readonly_paths(kernel, plan.readonly_paths, log=self.log, trees=trees,
                             expected=expected)
        pivot.mask_paths(kernel, plan.masked_paths, log=self.log, trees=trees, expected=expected,
                         mount_label=plan.mount_label)
        if plan.readonly:
            pivot.remount_readonly_root(kernel, log=self.log)
        if plan.rootfs_propagation in ("unbindable", "runbindable"):
            pivot.make_root_unbindable(kernel, log=self.log)
        kept = trees.proc()
        self._proc = kernel.dup(kept) if kept is not None else None
        trees.close()
        self._trees = None

    def become(self, process: "Process") -> None:
        from pyocijail.backends.linux import capabilities, procfs  # loaded by isolate/join

        proc, self._proc = self._proc, None
        try:
            if process.oom_score_adj is not None:
                if proc is None:  # no procfs mounted by the runtime: "/proc", checked
                    proc = procfs.open_proc(self.kernel, None)
                procfs.write_own(self.kernel, proc, "oom_score_adj", str(process.oom_score_adj))
        finally:
            if proc is not None:
                self.kernel.close(proc)
        if self._filter is not None and not process.no_new_privileges:
            self._filter.load()  # needs CAP_SYS_ADMIN: before the capabilities go
            self._filter = None
        sets = capabilities.parse(process.capabilities)
        capabilities.apply(sets, lambda: _change_user(process), warn=self.log.debug)

    def check_process(self, process: "Process") -> None:
        """exec, on the host: what the LSMs cannot apply to `process` (as at create)."""
        from pyocijail.backends.linux import lsm

        lsm.check(process, None)

    def before_exec(self, process: "Process") -> None:
        """The LSM label first (it applies at the next execve: with the exec helper,
        at the helper's), then no_new_privs and seccomp, as runc. Called before the
        startContainer hooks too: what was done once is not done again, but the label
        is written each time (an execve clears it)."""
        from pyocijail.backends.linux import libc  # loaded by _before_gate / join

        if process.apparmor_profile or process.selinux_label:
            from pyocijail.backends.linux import lsm  # loaded by plan / check_process in R

            lsm.apply_exec(process)
        if self._personality is not None:  # late: it changes what uname reports
            _personality(self._personality)
            self._personality = None
        if process.no_new_privileges:
            libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
        if self._filter is not None:
            self._filter.load()
            self._filter = None
        self._tty = process.terminal

    def exec_fds(self) -> "tuple[int, ...]":
        """Our fds that must stay open up to `execve` (close-on-exec all the same)."""
        return tuple(fd for fd in (self._helper, self._handover if self.forks_into_container
                                   else None) if fd is not None)

    def execve(self, path: str, args: "list[str]", env: "dict[str, str]",
               report_fd: int) -> None:
        """The program's execve, made by the exec helper from its sealed memfd
        (`process.exechelper`): when the image's file runs, /proc/self/exe is
        never the host interpreter (CVE-2019-5736). Raises OSError if the
        helper itself cannot be exec'd; its own failures come on `report_fd`."""
        from pyocijail.backends.linux import libc
        from pyocijail.process import exechelper

        if self._helper is None:  # never the unsafe path
            raise PyocijailError("exec helper not loaded: refusing a plain execve")
        posix.set_inheritable(report_fd, True)  # the helper makes it close-on-exec
        handover = self._handover if self.forks_into_container else None
        if handover is not None:
            posix.set_inheritable(handover, True)  # the forked child closes it
        libc.fexecve(self._helper, exechelper.argv(report_fd, path, args, handover=handover,
                                                   terminal=self._tty), env)

    # --- later calls -------------------------------------------------------------------
    def fork_joined(self, state: "dict[str, Any]", pid: int, child: "Callable[[], None]") -> int:
        """Fork the exec process; `child` runs in it, calls `join` and ends in `execve`.

        With a pid namespace, in two steps as runc: the process forked here (P,
        in the host's pid namespace) joins every namespace, the mount namespace
        included, and does all the Python work; its `execve` runs the exec
        helper, which forks E into the container's pid namespace and hands E's
        pid back on a pipe (`exechelper`, "R:H"). So what appears in the
        container is the helper from birth: never the runtime with the host's
        root (a container with CAP_SYS_PTRACE read host files through
        /proc/E/root) or with the host interpreter as its exe. This process is
        a child subreaper, so E becomes its child (waitpid, and conmon's once
        we exit). Returns E's pid, or P's if P failed before the helper forked
        (its error is then on `child`'s channel)."""
        # join's modules too, before the warm-up's join (see lifecycle/exec_.py).
        from pyocijail.backends.linux import capabilities, libc, namespaces, procfs  # noqa: F401
        from pyocijail.process.spawn import fork_child

        self._join_warm_up()
        if not _has(state, "pid"):
            return fork_child(child)

        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)
        r, w = posix.pipe2(posix.O_CLOEXEC)
        self._handover = w
        def middle_child() -> None:
            posix.close(r)
            child()

        try:
            middle = fork_child(middle_child)
        finally:
            self._handover = None
            posix.close(w)
        data = b""
        try:
            while chunk := posix.read(r, 32):
                data += chunk
        finally:
            posix.close(r)
        if len(data) != 4:
            return middle
        posix.waitpid(middle, 0)
        return int.from_bytes(data, "little")

    def join(self, state: "dict[str, Any]", pid: int) -> None:
        """In the exec process: cgroup, the container's seccomp filter (built now),
        the exec helper, every namespace (for a pid namespace: our children's;
        see `fork_joined`).

        seccomp and userns are imported only for a container that has a filter
        or a user namespace, and before join_all: after it the package may be
        out of reach."""
        from pyocijail import jsonlite
        from pyocijail.backends.linux import capabilities, cgroups, libc, procfs
        from pyocijail.backends.linux.namespaces import join_all

        user = _has(state, "user")
        if user:
            from pyocijail.backends.linux.userns import become_root
        # Non-dumpable up to the last execve (E inherits it): nothing in the
        # container may ptrace us or open /proc/<pid>/exe.
        libc.prctl(libc.PR_SET_DUMPABLE, 0)
        self._helper = _exec_helper()
        capabilities.last_cap()
        cgroups.attach(_groups(state), 0)
        if state.get("seccomp"):
            from pyocijail.backends.linux import seccomp
            from pyocijail.spec.convert import structure
            from pyocijail.spec.model import Seccomp

            with open(state["seccomp"], encoding="utf-8") as f:
                profile = structure(jsonlite.loads(f.read()), Seccomp)
            program = state.get("seccompProgram")
            self._filter = seccomp.Filter.compiled(profile, program) if program else None
            if self._filter is None:
                self._filter = seccomp.Filter(profile)
        # The host's procfs, for oom_score_adj: the container's /proc is its own to redirect.
        self._proc = procfs.open_proc(self.kernel, None)
        kinds = {ns[0] for ns in state.get("namespaces", [])}
        if "pid" in kinds and self._handover is None:  # setns(pid) moves only children
            raise PyocijailError("join into a pid namespace outside fork_joined")
        join_all(self.kernel, pid, kinds)  # the pid namespace: our children's (the helper's fork)
        if user:
            become_root()  # then `become` changes to the process's user, as in init
        posix.chdir("/")
        self.forks_into_container = "pid" in kinds

    def processes(self, state: "dict[str, Any]", pid: int) -> "Iterator[int]":
        """Every pid in the container's cgroup (or, for old state, its pid namespace)."""
        from pyocijail.backends.linux import cgroups

        groups = _groups(state)
        if not groups:
            yield from _namespace_pids(state, pid)
        elif _has(state, "pid"):
            # The cgroup may hold others (a cgroupsPath naming an existing one,
            # attack 7f): only those in the init's pid namespace are the
            # container's, as runc signals only the container.
            yield from _in_pid_namespace_of(pid, cgroups.pids(groups))
        else:
            yield from cgroups.pids(groups)

    def stats(self, state: "dict[str, Any]") -> "dict[str, Any]":
        """runc's stats (`events`) from the container's cgroup."""
        from pyocijail.backends.linux import cgroupstats

        return cgroupstats.stats(_groups(state))

    def oom_kills(self, state: "dict[str, Any]") -> int:
        from pyocijail.backends.linux import cgroupstats

        return cgroupstats.oom_kills(_groups(state))

    def why_init_died(self, plan: "LinuxPlan") -> "str | None":
        """The memory limit's OOM kill of an init that died before it was ready."""
        from pyocijail.backends.linux import cgroupstats

        return cgroupstats.oom_explanation(plan.cgroups)

    def freeze(self, state: "dict[str, Any]", pid: int, frozen: bool) -> None:
        from pyocijail.backends.linux import cgroups

        cgroups.freeze(_groups(state), frozen)

    def update(self, state: "dict[str, Any]", res: "Resources") -> None:
        from pyocijail.backends.linux import resources

        groups = _groups(state)
        writes = resources.writes(res, groups, update=True, log=self.log)
        tail = [(bool(a), str(t)) for a, t in state.get("deviceRulesTail",
                                                      resources.device_rules((), ()))]
        device_filter = resources.device_filter(res, groups, tail=tail)  # checked first
        resources.apply(writes, self.log)
        if device_filter is not None:
            from pyocijail.backends.linux import devicefilter

            devicefilter.install(device_filter[0], devicefilter.parse(device_filter[1]),
                                 self.log)

    def destroy(self, state: "dict[str, Any]", undo: "Any") -> None:
        """Remove the cgroup directories create made (the mounts die with the namespace).

        Only `cgroupdirs`: a delete of a stopped container loads neither the cgroup
        layout nor the value classes."""
        from pyocijail.backends.linux import cgroupdirs

        entries = [e for e in undo.entries() if isinstance(e.get("cgroup"), str)]
        # The folder this delete runs in, not what the journal says: the mark
        # create left on its cgroup must name it (`cgroupdirs.remove`).
        owner = pathlite.dirname(undo.path) if hasattr(undo, "path") else None
        errors = cgroupdirs.remove(reversed([e["cgroup"] for e in entries]),
                                   [e["cgroup"] for e in entries if e.get("leaf")],
                                   owner=owner)
        if errors:
            raise KernelError("destroy", None, None, "; ".join(errors))


def _exec_helper() -> int:
    """The exec helper's sealed memfd, for this machine. A machine we have no
    code for fails create and exec: never the host interpreter's execve."""
    from pyocijail.process import exechelper

    machine = posix.uname().machine
    try:
        return exechelper.sealed_memfd(machine)
    except LookupError:
        raise PyocijailError(f"no exec helper for this machine ({machine}): refusing to "
                             "exec the container's program from the host interpreter "
                             "(CVE-2019-5736)") from None
    except OSError as err:
        raise KernelError("memfd_create for the exec helper", err.errno) from None


def _groups(state: "dict[str, Any]") -> "list[Cgroup]":
    from pyocijail.backends.linux.cgroups import Cgroup

    return [Cgroup.from_json(g) for g in state.get("cgroups", [])]


def _has(state: "dict[str, Any]", kind: str) -> bool:
    return any(ns[0] == kind for ns in state.get("namespaces", []))


def _check_reachable(kernel: "NsKernel", plan: "LinuxPlan") -> None:
    """In a user namespace the rootfs is reached as the container's root, which has
    no privilege over files of unmapped owners (runc has the same requirement)."""
    try:
        kernel.close(kernel.open(plan.rootfs, posix.O_PATH | posix.O_DIRECTORY
                                 | posix.O_CLOEXEC))
    except OSError as err:
        from pyocijail.backends.linux.userns import host_id

        uid = host_id(plan.uid_mappings, 0)
        who = f"host uid {uid}" if uid is not None else "root of the joined user namespace"
        raise KernelError("open rootfs", err.errno, plan.rootfs,
                          f"{posix.strerror(err.errno or 0)}: the container's root ({who}) must be "
                          "able to reach it (search permission on every directory above)"
                          ) from None


def _change_user(process: "Process") -> None:
    user = process.user
    try:
        posix.setgroups(list(user.additional_gids))
        posix.setgid(user.gid)
        posix.setuid(user.uid)
    except OSError as err:
        raise KernelError(f"set user {user.uid}:{user.gid}", err.errno) from None


def _join_session_keyring(plan: "LinuxPlan") -> None:
    """A session keyring of the container's own instead of the caller's (runc):
    the caller's (conmon's, a login's) keys are not the container's to search.
    Searchable by the keyring's user too, as runc makes it, so that a process
    that changed uid still finds it. ENOSYS (a kernel without keys) is no
    error, as in runc: the keyring is a hardening, not a boundary."""
    import errno

    from pyocijail.backends.linux import libc

    if plan.key_label:
        from pyocijail.backends.linux import lsm  # (loaded by the plan, in R)

        lsm.set_key_label(plan.key_label)
    try:
        serial = libc.join_session_keyring(plan.session_keyring or "")
    except KernelError as e:
        if e.errno == errno.ENOSYS:
            return
        raise KernelError("join the session keyring", e.errno,
                          plan.session_keyring) from None
    finally:
        if plan.key_label:
            lsm.set_key_label("")
    libc.add_key_permissions(serial, libc.KEY_USR_SEARCH)


def _personality(persona: int) -> None:
    import ctypes

    from pyocijail.backends.linux import libc

    lib = libc._libc()
    lib.personality.argtypes = [ctypes.c_ulong]
    if lib.personality(persona) < 0:
        raise KernelError("personality", ctypes.get_errno())


#: ioctl_ns(2): the fd of a pid namespace's parent.
_NS_GET_PARENT = 0xB702


def _in_pid_namespace_of(init: int, pids: "Iterator[int]") -> "Iterator[int]":
    """The `pids` in init's pid namespace or in one nested in it (a container in
    the container); nothing if the init is gone (its namespace went with it)."""
    import fcntl  # (loaded by the state store already)

    try:
        st = posix.stat(f"/proc/{init}/ns/pid")
    except OSError:
        return
    target = (st.st_dev, st.st_ino)
    for pid in pids:
        try:
            fd = posix.open(f"/proc/{pid}/ns/pid", posix.O_RDONLY | posix.O_CLOEXEC)
        except OSError:
            continue  # gone
        try:
            for _ in range(32):  # the kernel nests pid namespaces 32 deep at most
                st = posix.fstat(fd)
                if (st.st_dev, st.st_ino) == target:
                    yield pid
                    break
                parent = fcntl.ioctl(fd, _NS_GET_PARENT)  # EPERM above our own: not in it
                posix.close(fd)
                fd = parent
        except OSError:
            pass
        finally:
            posix.close(fd)


def _namespace_pids(state: "dict[str, Any]", pid: int) -> "Iterator[int]":
    """With a pid namespace: every pid in it; otherwise init's descendants."""
    if _has(state, "pid"):
        try:
            target = posix.stat(f"/proc/{pid}/ns/pid").st_ino
        except OSError:
            return
        for entry in posix.listdir("/proc"):
            if entry.isdigit():
                try:
                    if posix.stat(f"/proc/{entry}/ns/pid").st_ino == target:
                        yield int(entry)
                except OSError:
                    continue
        return
    import psutil  # type: ignore[import-untyped]  # (no types-psutil installed)

    try:
        yield from (p.pid for p in psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return


def _program_cache(plan: "LinuxPlan") -> str:
    """Where compiled seccomp programs are kept: in the state root."""
    from pyocijail.backends.linux import seccomp

    return f"{pathlite.dirname(plan.state_dir)}/{seccomp.CACHE_DIR}"
