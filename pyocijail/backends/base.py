# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The platform seam: what the lifecycle core asks of a jail or namespace backend.

The core (`pyocijail.lifecycle`, `pyocijail.process`) owns the CLI contract,
state, locking, the start barrier, hooks, the console and the process set-up
common to every platform (rlimits, umask, env, cwd, fds, exec). A backend
owns isolation. Three processes are involved (see `process/sync.py`):

    runtime (R)  the `pyocijail create` process, on the host
    init (I)     forked by R; becomes the container's first process
    hook (H)     forked by I for each createContainer hook

Create, in order (hooks are run by the core between the steps):

    R  plan = backend.plan(...)        pure; every error before any side effect
    R  backend.prepare(plan, undo)     host side: jail + mounts (FreeBSD), cgroup (Linux)
    R  backend.fork(plan, init)        fork I  (Linux: new or joined pid namespace;
                                       with a user namespace I is the child of a
                                       stage process that has exited: sync.py)
    I  backend.planned_process(plan, process)   what every later step runs (FreeBSD: the plan's)
    I  backend.isolate(plan, undo)     Linux: unshare namespaces, mount the rootfs
    R  prestart, createRuntime hooks
    H  backend.enter_hook(plan)        then exec the hook (FreeBSD: jail_attach)
    I  backend.enter(plan)             Linux: pivot_root, hostname; FreeBSD: jail_attach
    I  ... waits on the start barrier; at start (startContainer hooks first):
    I  backend.become(process)         groups, gid, uid (+ capabilities on Linux)
    I  backend.before_exec(process)    last step before execve (seccomp on Linux)

Without startContainer hooks, `become` is called while the init waits for
start (runc's order), so start waits only for `before_exec` and the exec.

Every host-side change is appended to the container's undo log *before* it is
made, so `destroy` can undo a create that was killed at any point.
"""

# Lean: `BackendBase` is imported by every backend, so on the hot commands' path.
# The protocols below are for the type checker only (no `typing` at run time), and
# no `from __future__` (an import too): `BackendBase`'s annotations are quoted.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, Protocol, TypeVar

    from pyocijail.spec.model import Process, Resources, Spec

    class UndoLog(Protocol):
        """Append-only journal of host-side changes, replayed in reverse by destroy."""

        def append(self, entry: dict[str, Any]) -> None: ...

        def entries(self) -> list[dict[str, Any]]: ...


    class Plan(Protocol):
        """A backend's complete, ordered description of a container (a frozen value class)."""

        rootfs: str  # the root's host path (createContainer hooks start there, as in runc)

        def to_json(self) -> dict[str, Any]: ...

        def to_text(self) -> str: ...


    #: the plan class of one backend (FreeBSD `JailPlan`, Linux `LinuxPlan`)
    PlanT = TypeVar("PlanT", bound=Plan)

    class PlatformBackend(Protocol[PlanT]):
        """One backend, over its own plan class: each step takes the plan `plan` made."""

        name: str  # "linux" or "freebsd"

        # --- pure ---------------------------------------------------------------
        def plan(self, container_id: str, spec: Spec, bundle: str, state_dir: str) -> PlanT:
            """Everything create will do, as data; ConfigError for what cannot be done."""

        def features(self) -> dict[str, Any]:
            """This backend's part of `pyocijail features` (mount options, ...)."""

        # --- runtime process, create ----------------------------------------------
        def prepare(self, plan: PlanT, undo: UndoLog) -> dict[str, Any]:
            """Host-side resources before init exists; returns data kept in state.json."""

        def fork(self, plan: PlanT, child: Callable[[], None]) -> int:
            """Fork init; `child` runs in it and must end in exec or _exit (Linux: pid ns).

            Returns init's pid (the pid file's): a descendant of this process, not
            necessarily its child (Linux with a user namespace: a grandchild)."""

        def adopt(self, plan: PlanT, pid: int, undo: UndoLog) -> None:
            """After fork, in R: place init in the container's resources (cgroup)."""

        # --- init process ------------------------------------------------------------
        def isolate(self, plan: PlanT, undo: UndoLog) -> None:
            """In I, before the runtime hooks: namespaces and mounts (Linux)."""

        def enter_hook(self, plan: PlanT) -> None:
            """In a createContainer hook's child, just before exec."""

        def enter(self, plan: PlanT) -> None:
            """In I after createContainer hooks: change root / attach to the jail."""

        def become(self, process: Process) -> None:
            """In I at start (or in an exec'd process): groups, gid, uid, privileges."""

        def before_exec(self, process: Process) -> None:
            """The last step before execve (seccomp on Linux)."""

        def exec_fds(self) -> tuple[int, ...]:
            """The backend's fds `execve` needs: kept open when the others are closed."""

        def execve(self, path: str, args: list[str], env: dict[str, str], report_fd: int) -> None:
            """Run the program (Linux: through the exec helper). Raises OSError if
            it cannot; a failure found later is reported on `report_fd`."""

        # --- a running container, from any later runtime call ----------------------------
        def fork_joined(self, state: dict[str, Any], pid: int, child: Callable[[], None]) -> int:
            """Fork a process for exec in init `pid`'s pid namespace; `child` runs in it."""

        def join(self, state: dict[str, Any], pid: int) -> None:
            """In the forked exec process: enter the container of init `pid`."""

        def processes(self, state: dict[str, Any], pid: int) -> Iterator[int]:
            """Host pids of every process in the container (for kill --all, ps)."""

        # The optional steps and their flags: `BackendBase` (below) documents them.
        supports_freeze: bool
        supports_update: bool
        supports_events: bool
        pty_before_enter: bool
        forks_into_container: bool

        def warm_up(self) -> None: ...
        def check_process(self, process: Process) -> None: ...
        def planned_process(self, plan: PlanT | None, process: Process) -> Process: ...
        def apply_rlimits(self, plan: PlanT | None, process: Process) -> None: ...
        def recorded(self, plan: PlanT) -> dict[str, Any]: ...
        def created(self, plan: PlanT, data: dict[str, Any]) -> None: ...
        def why_init_died(self, plan: PlanT) -> str | None: ...
        def freeze(self, state: dict[str, Any], pid: int, frozen: bool) -> None: ...
        def update(self, state: dict[str, Any], resources: Resources) -> None: ...
        def stats(self, state: dict[str, Any]) -> dict[str, Any]: ...
        def oom_kills(self, state: dict[str, Any]) -> int: ...

        # A backend may put {"annotations": {...}} in the data `prepare` returns;
        # `state` shows them with the config's (the jid, for jail managers).

        def destroy(self, state: dict[str, Any], undo: UndoLog) -> None:
            """Remove everything prepare/isolate made; idempotent, tolerant of partial state."""

    #: what the core holds: a backend whose plan it only passes back (`select_backend`)
    Backend = PlatformBackend[Any]


class BackendBase:
    """The optional steps of the seam, with the defaults a backend lacking them gets.

    Every backend subclasses this and overrides only what it does; the core calls
    these steps directly. Where the core must know whether a step exists (to
    refuse, or to fall back) a `supports_*` flag says so. Plans are typed `Any`
    here: each backend takes its own plan class (a narrower parameter would not be
    a valid override).
    """

    #: `freeze` exists: pause/resume use it (else SIGSTOP/SIGCONT), delete thaws.
    supports_freeze = False
    #: `update` exists (`update --resources`; else refused).
    supports_update = False
    #: `stats` and `oom_kills` exist (`events`; else refused).
    supports_events = False
    #: init and exec open their terminal before `enter`/`join` (FreeBSD: openpty
    #: opens /dev/pts/N by name; `process/init.py` `_open_terminal`).
    pty_before_enter = False
    #: exec: `execve` forks the process into the container (Linux's helper with a
    #: pid namespace), so the exec'd process must not start its own session.
    forks_into_container = False

    def warm_up(self) -> None:
        """First thing in create (before the config is read) and in exec (before
        the process file and the state are read): start slow kernel work that
        depends on neither. Idempotent; exec's fork joins it (`fork_joined`)."""

    def check_process(self, process: "Process") -> None:
        """exec, before the fork: what the host cannot apply to the process file
        (Linux: AppArmor, SELinux)."""

    def planned_process(self, plan: "Any", process: "Process") -> "Process":
        """The process to run, first thing in the init (`plan`: the one create made)
        and in an exec'd process (`plan` None: `process` is the process file).
        Every later step (cwd, lookup, terminal, user, umask, env, execve) takes
        what this returns. Default: `process` itself. FreeBSD returns its plan's
        process, so what `pyocijail plan` prints is what runs."""
        return process

    def apply_rlimits(self, plan: "Any", process: "Process") -> None:
        """setrlimit(2) for the process's limits: in the init at create (`plan`, the
        one create made), or in an exec'd process before it joins (`plan` None).
        Default: `process.rlimits`, numbered by Python's resource module (this
        host's own numbers). FreeBSD sets exactly its plan's limits instead."""
        from pyocijail.process.setup import apply_rlimits  # loaded already: the init's

        apply_rlimits(process.rlimits)

    def recorded(self, plan: "Any") -> "dict[str, Any]":
        """State kept before `prepare` runs: the trusted scope of a teardown after a
        crash (FreeBSD: the jail's name and root). Default: nothing."""
        return {}

    def created(self, plan: "Any", data: "dict[str, Any]") -> None:
        """Once the container is created (`data`: what `prepare` returned)."""

    def why_init_died(self, plan: "Any") -> "str | None":
        """A reason for init's death during create, if the backend knows one
        (Linux: the memory limit's OOM kill)."""
        return None

    def freeze(self, state: "dict[str, Any]", pid: int, frozen: bool) -> None:
        """pause/resume; called only when `supports_freeze`."""
        raise NotImplementedError

    def update(self, state: "dict[str, Any]", resources: "Resources") -> None:
        """`update --resources`; called only when `supports_update`."""
        raise NotImplementedError

    def stats(self, state: "dict[str, Any]") -> "dict[str, Any]":
        """`events` statistics; called only when `supports_events`."""
        raise NotImplementedError

    def oom_kills(self, state: "dict[str, Any]") -> int:
        """`events`' OOM kill count; called only when `supports_events`."""
        raise NotImplementedError
