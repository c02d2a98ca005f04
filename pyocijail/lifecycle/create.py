"""create: build the container and leave its first process waiting for start.

Everything that can be checked is checked before the state directory exists
(config, id, console rules, the backend's plan); after that, any failure
kills the init process, undoes the backend's work and removes the directory,
so a failed create leaves nothing behind. The parent/child exchange is drawn
in `process/sync.py`.
"""

from __future__ import annotations

# `_socket`, not `socket`: the wrapper module builds enums at import (~3 ms).
import _socket

from pyocijail.errors import ConfigError, InitFailed, PyocijailError
from pyocijail.failpoints import failpoint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.lifecycle.context import Context
    from pyocijail.process.sync import Channel
    from pyocijail.state.record import Record
    from pyocijail.state.store import ContainerDir
    from pyocijail.state.undo import UndoFile


class CreateRequest:
    def __init__(self, container_id: str, bundle: str, *, pid_file: str | None = None,
                 console_socket: str | None = None, preserve_fds: int = 0,
                 relay_terminal: bool = False) -> None:
        self.id, self.bundle, self.pid_file = container_id, bundle, pid_file
        self.console_socket, self.preserve_fds = console_socket, preserve_fds
        # `run` relays a terminal itself: create then makes a socketpair, gives
        # the init one end (as if it were --console-socket) and leaves the
        # other in `relay`, where the pty master will arrive.
        self.relay_terminal = relay_terminal
        self.console_pair: _socket.socket | None = None
        self.relay: _socket.socket | None = None


def create(ctx: Context, req: CreateRequest) -> Record:
    from pyocijail.process.preserved import check_preserved_fds
    from pyocijail.state.ids import check_id

    check_id(req.id)
    check_preserved_fds(req.preserve_fds)  # before the runtime opens any fd
    # First: the warm-up's wait for the kernel (see the backend) overlaps the
    # imports below as well as the config's reading and the plan.
    ctx.backend.warm_up()
    import os

    from pyocijail.lifecycle.hooks import hook_lists
    from pyocijail.lifecycle.pidfile import write_pid_file
    from pyocijail.log import rfc3339
    from pyocijail.process.sync import CREATED
    from pyocijail.spec.load import load_config
    from pyocijail.state.record import Record
    from pyocijail.state.status import Status
    from pyocijail.state.undo import UndoFile

    bundle = os.path.abspath(req.bundle)
    spec, raw = load_config(bundle, debug=ctx.log.debug)
    if spec.process is None:
        raise ConfigError("config.json: process is required to create a container")
    if spec.root is None:
        raise ConfigError("config.json: root is required")
    if spec.process.terminal and req.console_socket is None and req.relay_terminal:
        req.relay, req.console_pair = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    has_console = req.console_socket is not None or req.console_pair is not None
    if spec.process.terminal and not has_console:
        raise ConfigError("process.terminal is true but no --console-socket was given")
    if has_console and not spec.process.terminal:
        raise ConfigError("--console-socket given but process.terminal is false")
    backend = ctx.backend
    plan = backend.plan(req.id, spec, bundle, ctx.store.path(req.id))
    if ctx.log.debugging:
        from pyocijail import jsonlite

        ctx.log.debug(f"plan: {jsonlite.dumps(plan.to_json())}")  # JSON, not a Python repr

    hooks = hook_lists(spec)
    cdir = ctx.store.create(req.id)
    failpoint("create.after-mkdir")
    rootfs = os.path.join(bundle, spec.root.path)  # an absolute root.path stays as it is
    from pyocijail.spec.convert import unstructure

    record = Record(req.id, bundle, annotations=dict(spec.annotations), created=rfc3339(),
                    backend=backend.name, hooks={k: hooks[k] for k in ("poststart", "poststop")},
                    rootfs=rootfs, process=unstructure(spec.process))
    undo = UndoFile(cdir.file("undo.jsonl"))
    pid = 0
    try:
        with open(cdir.file("config.json"), "wb") as f:  # later bundle edits do not matter
            f.write(raw)
        record.backend_state = backend.recorded(plan)  # teardown's trusted scope
        cdir.write(record)
        failpoint("create.after-state")
        record.backend_state = backend.prepare(plan, undo) or {}
        failpoint("create.after-prepare")
        pid, chan = _spawn(ctx, cdir, record, plan, spec.process, hooks, req, undo)
        try:
            failpoint("create.after-ready")
            record.status = Status.CREATED.value
            cdir.write(record)
            failpoint("create.after-created")
            backend.created(plan, record.backend_state)
            if req.pid_file:
                write_pid_file(req.pid_file, pid)
                failpoint("create.after-pid-file")
            # Only now may the init wait for start: if this process dies first,
            # the init sees EOF and exits instead of waiting for ever.
            try:
                chan.send(CREATED)
            except OSError as err:
                raise InitFailed(CREATED, "container init exited before create finished: "
                                          f"{err.strerror}") from None
        finally:
            chan.close()
    except BaseException:
        _abandon(ctx, cdir, record, undo, pid)
        raise
    finally:
        cdir.unlock()
    return record


def _spawn(ctx: Context, cdir: ContainerDir, record: Record, plan: Any, process: Any,
           hooks: dict[str, list[Any]], req: CreateRequest,
           undo: UndoFile) -> tuple[int, Channel]:
    """Fork init, run the runtime-side hooks at their time, wait until it is ready.

    Returns the pid and the channel, still open: the caller sends CREATED on it."""
    from pyocijail.lifecycle.hooks import run_stage
    from pyocijail.process.init import init_main
    from pyocijail.process.stream import short_unix_path
    from pyocijail.process.sync import GO, ISOLATED, READY, Channel
    from pyocijail.state import liveness
    from pyocijail.state.status import BARRIER, Status

    backend = ctx.backend
    barrier = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    with short_unix_path(cdir.file(BARRIER)) as name:
        barrier.bind(name)
    barrier.listen(1)
    console_sock = req.console_pair
    if process.terminal:
        # Here, not in the init: in a user namespace the init may no longer be
        # able to read the interpreter's files (termios is an extension module).
        from pyocijail.process import console
    if req.console_socket is not None:
        console_sock = console.connect(req.console_socket)
    parent, child = Channel.pair()

    def init() -> None:
        cdir.unlock()  # the flock is shared with the parent's fd: drop our reference
        parent.close()
        init_main(backend, plan, process, hooks, child, barrier, console_sock,
                  req.preserve_fds, undo)

    pid = backend.fork(plan, init)
    failpoint("create.after-fork")
    ctx.log.debug(f"forked init process {pid}")
    child.close()
    barrier.close()
    if console_sock is not None and req.console_socket is not None:
        console_sock.close()
    record.pid = pid
    record.start_time = liveness.start_time(pid)
    # Let the init go on (into its cgroups, then isolating) while its pid is
    # written down: if this process dies first, the init reads EOF on the
    # channel and exits, its mounts with it.
    backend.adopt(plan, pid, undo)
    # Also in the journal: delete --force must find the init when state.json cannot.
    undo.append({"op": "process", "pid": pid, "startTime": record.start_time})
    cdir.write(record)  # a crash from here on leaves a pid that delete can kill
    failpoint("create.after-pid-recorded")
    def explain() -> str | None:
        return backend.why_init_died(plan)  # (Linux: the memory limit's OOM kill)

    try:
        parent.expect(ISOLATED, explain)
        failpoint("create.after-isolated")
        state = record.oci_state(Status.CREATING.value)
        run_stage(ctx, "prestart", hooks, state)
        run_stage(ctx, "createRuntime", hooks, state)
        parent.send(GO, state=state)
        failpoint("create.after-go")
        parent.expect(READY, explain)
    except BaseException:
        parent.close()
        raise
    return pid, parent


def _abandon(ctx: Context, cdir: ContainerDir, record: Record, undo: UndoFile, pid: int) -> None:
    """Undo a failed create; the original error is what the caller sees."""
    from pyocijail.lifecycle.delete import destroy

    try:
        destroy(ctx, cdir, record, undo, run_poststop=False)
    except PyocijailError as err:
        ctx.log.warn(f"cleaning up after a failed create: {err}")
    if pid:
        import os

        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
