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

from __future__ import annotations

from typing import Any, Protocol

from pyocijail.spec.model import Process, Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class UndoLog(Protocol):
    """Append-only journal of host-side changes, replayed in reverse by destroy."""

    def append(self, entry: dict[str, Any]) -> None: ...

    def entries(self) -> list[dict[str, Any]]: ...


class Plan(Protocol):
    """A backend's complete, ordered description of a container (a frozen value class)."""

    rootfs: str  # the root's host path (createContainer hooks start there, as in runc)

    def to_json(self) -> dict[str, Any]: ...

    def to_text(self) -> str: ...


class Backend(Protocol):
    name: str  # "linux" or "freebsd"

    # --- pure ---------------------------------------------------------------
    def plan(self, container_id: str, spec: Spec, bundle: str, state_dir: str) -> Plan:
        """Everything create will do, as data; ConfigError for what cannot be done."""

    def features(self) -> dict[str, Any]:
        """This backend's part of `pyocijail features` (mount options, ...)."""

    # --- runtime process, create ----------------------------------------------
    def prepare(self, plan: Plan, undo: UndoLog) -> dict[str, Any]:
        """Host-side resources before init exists; returns data kept in state.json."""

    def fork(self, plan: Plan, child: Callable[[], None]) -> int:
        """Fork init; `child` runs in it and must end in exec or _exit (Linux: pid ns).

        Returns init's pid (the pid file's): a descendant of this process, not
        necessarily its child (Linux with a user namespace: a grandchild)."""

    def adopt(self, plan: Plan, pid: int, undo: UndoLog) -> None:
        """After fork, in R: place init in the container's resources (cgroup)."""

    # --- init process ------------------------------------------------------------
    def isolate(self, plan: Plan, undo: UndoLog) -> None:
        """In I, before the runtime hooks: namespaces and mounts (Linux)."""

    def enter_hook(self, plan: Plan) -> None:
        """In a createContainer hook's child, just before exec."""

    def enter(self, plan: Plan) -> None:
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

    # Optional; the core falls back or refuses when a backend lacks them:
    #   freeze(state, pid, frozen: bool) -> None   pause/resume (fallback: SIGSTOP/SIGCONT)
    #   update(state, resources: Resources) -> None  `update --resources`
    #   warm_up() -> None   first thing in create (before the config is read) and in
    #                       exec (once the container is running): start slow kernel
    #                       work that depends on nothing of either; joined at the fork
    #   created(plan, data) -> None   once the container is created (data: prepare's)
    #   check_process(process) -> None   exec, before the fork: what the host cannot
    #                       apply to the process file (Linux: AppArmor, SELinux)
    # A backend may put {"annotations": {...}} in the data `prepare` returns;
    # `state` shows them with the config's (the jid, for jail managers).

    def destroy(self, state: dict[str, Any], undo: UndoLog) -> None:
        """Remove everything prepare/isolate made; idempotent, tolerant of partial state."""
