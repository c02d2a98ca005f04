"""The container's first process (I) and exec'd processes (E), after fork.

Everything here runs in a forked copy of the runtime and must never return
into it: each entry point ends in execve or os._exit. Errors travel back to
the runtime over the sync channel (or the start barrier); stdio belongs to
the container and is never written to. Once the process has entered the
container the package is out of reach: import nothing lazily on these paths.
"""

from __future__ import annotations

# `_signal`, not `signal`: the wrapper module builds enums at import (~3 ms).
import _signal
import _socket
import os

from pyocijail import jsonlite
from pyocijail.errors import PyocijailError
from pyocijail.failpoints import failpoint
from pyocijail.process import setup
from pyocijail.process.hooks import run_hooks
from pyocijail.process.stream import write_all
from pyocijail.process.sync import CREATED, ERROR, GO, ISOLATED, READY, Channel
from pyocijail.state.status import EXECUTING

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.backends.base import Backend, Plan, UndoLog
    from pyocijail.spec.model import Process


def _fresh_process(session: bool = True) -> None:
    if session:
        os.setsid()
    # Default dispositions: a SIGTERM to a created container must end it.
    for sig in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT):
        _signal.signal(sig, _signal.SIG_DFL)


def _console_module(process: Process) -> Any:
    """pyocijail.process.console for a terminal (termios and struct are not loaded
    for the usual process without one). create and exec import it before the fork,
    while the package is in reach; this only looks it up."""
    if not process.terminal:
        return None
    from pyocijail.process import console

    return console


def _open_terminal(backend: Backend, process: Process) -> tuple[int, int, str] | None:
    """The pty now, while the host's /dev is in reach, on a backend that asks for
    it (`pty_before_enter`): FreeBSD's openpty(3) opens the slave by its
    /dev/pts/N name, which after jail_attach resolves in the jail's root, where
    devfs may be absent or hide pts (ocijail opens it before attaching too).
    Linux opens it after pivot_root, in the container's own devpts."""
    if not process.terminal or not backend.pty_before_enter:
        return None
    master, slave = os.openpty()
    return master, slave, os.ttyname(slave)


def _setup_terminal(process: Process, console_sock: _socket.socket | None,
                    console: Any, controlling: bool = True,
                    opened: tuple[int, int, str] | None = None) -> None:
    if not process.terminal:
        return
    assert console_sock is not None
    if opened is not None:
        master, slave, name = opened
    else:
        master, slave = os.openpty()
        name = os.ttyname(slave)
    if process.console_size is not None:
        console.set_size(master, process.console_size.height, process.console_size.width)
    console.send_master(console_sock, master, name)
    os.close(master)
    console_sock.close()
    console.become_controlling(slave, take=controlling)


def init_main(backend: Backend, plan: Plan, process: Process, hooks: dict[str, list[Any]],
              chan: Channel, barrier: _socket.socket, console_sock: _socket.socket | None,
              preserve_fds: int, undo: UndoLog) -> None:
    """I: isolate, wait for the runtime hooks, enter, check, then block until start.

    Every step takes the backend's `planned_process` (FreeBSD: the plan's), not
    the spec's `process` it is given."""
    try:
        process = backend.planned_process(plan, process)
        console = _console_module(process)
        _fresh_process()
        backend.isolate(plan, undo)
        failpoint("create.init.after-isolate")
        chan.send(ISOLATED)
        msg = chan.recv()
        if not msg or msg.get("t") != GO:
            os._exit(1)
        # As runc: createContainer runs in the rootfs (before pivot_root),
        # startContainer in process.cwd.
        run_hooks("createContainer", hooks.get("createContainer", []), msg["state"],
                  in_child=lambda: backend.enter_hook(plan), cwd=plan.rootfs, via=backend)
        opened = _open_terminal(backend, process)
        backend.enter(plan)
        failpoint("create.init.after-enter")
        setup.ensure_cwd(process)
        path = setup.find_executable(process)
        _setup_terminal(process, console_sock, console, opened=opened)
        # As runc: a limit the kernel refuses fails create, not the later start.
        backend.apply_rlimits(plan, process)
        chan.send(READY)
        failpoint("create.init.after-ready")
        msg = chan.recv()
        if not msg or msg.get("t") != CREATED:
            os._exit(1)  # create died before it finished: nobody will ever start us
    except BaseException as err:  # noqa: BLE001 - report, never return into the runtime
        _report(chan, err)
        os._exit(1)
    chan.close()
    _await_start(backend, process, path, hooks, barrier, preserve_fds)


def _await_start(backend: Backend, process: Process, path: str, hooks: dict[str, list[Any]],
                 barrier: _socket.socket, preserve_fds: int) -> None:
    """Wait for `start`, then run the startContainer hooks and exec.

    The user change and what goes with it (`setup.become_user`) come first,
    while `start` is still on its way, so `start` waits only for the hooks and
    the exec. A failure then is kept and reported to `start`, exactly as it
    would have been after the barrier. The startContainer hooks run last, with
    the container process's privileges: its user, groups and capabilities, and
    its seccomp filter also with noNewPrivileges (`backend.before_exec`), as
    runc does (libcontainer/standard_init_linux.go `Init`: finalizeNamespace,
    seccomp, the exec fifo, then the hooks, then execve). Their path is the
    image's file: run before the user change they handed the image the host's
    root. The accepted connection is used as a bare fd (read, write, close):
    with a seccomp filter already loaded, no other socket call is made."""
    env: dict[str, str] | None = None
    failure: BaseException | None = None
    try:
        env = setup.become_user(backend, process)
    except BaseException as err:  # noqa: BLE001 - reported to start, below
        failure = err
    try:
        # the private accept returns the bare fd (public accept() wraps it in a socket)
        conn: int = barrier._accept()[0]  # type: ignore[attr-defined]
    except BaseException:  # noqa: BLE001
        os._exit(1)
    barrier.close()
    failpoint("start.init.after-accept")
    try:
        state = jsonlite.loads(read_stream_line(conn))
        if failure is not None:
            raise failure
        assert env is not None
        start_hooks = hooks.get("startContainer")
        if start_hooks:
            backend.before_exec(process)  # exec_as_user's own call then has nothing left
            run_hooks("startContainer", start_hooks, state, cwd=process.cwd, via=backend)
        setup.exec_as_user(backend, process, path, env, preserve_fds=preserve_fds,
                           keep_fd=conn, announce=_announcement(process))
    except BaseException as err:  # noqa: BLE001
        try:
            write_all(conn, _message(err).encode())
        finally:
            os._exit(1)


def _announcement(process: Process) -> bytes:
    """EXECUTING, then args[0] and a NUL: `start` words an exec helper's failure
    record with it (`lifecycle.start._exec_failure`)."""
    return EXECUTING + process.args[0].encode("utf-8", "surrogateescape") + b"\0"


def read_stream_line(fd: int) -> bytes:
    """The state JSON `start` sends: one line."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data


def exec_main(backend: Backend, state: dict[str, Any], pid: int, process: Process,
              chan: Channel, console_sock: _socket.socket | None, preserve_fds: int) -> None:
    """E: join the running container, check args[0], report, exec.

    On Linux with a pid namespace this runs outside it and the exec helper
    forks the process that enters it (`LinuxBackend.fork_joined`): the new
    session and the controlling terminal are then the helper's to make."""
    try:
        # Planned as create plans the init's (FreeBSD), while the package is in reach.
        process = backend.planned_process(None, process)
        console = _console_module(process)
        # Before join: in a user namespace a hard limit can no longer be raised.
        backend.apply_rlimits(None, process)
        opened = _open_terminal(backend, process)
        backend.join(state, pid)
        helper_forks = backend.forks_into_container
        _fresh_process(session=not helper_forks)
        failpoint("exec.process.after-join")
        setup.check_cwd(process)
        path = setup.find_executable(process)
        _setup_terminal(process, console_sock, console, controlling=not helper_forks,
                        opened=opened)
        chan.send(READY)
        setup.exec_process(backend, process, path, preserve_fds=preserve_fds,
                           keep_fd=chan.fileno())
    except BaseException as err:  # noqa: BLE001
        _report(chan, err)
    os._exit(1)


def _report(chan: Channel, err: BaseException) -> None:
    try:
        chan.send(ERROR, msg=_message(err))
    except OSError:
        pass


def _message(err: BaseException) -> str:
    if isinstance(err, PyocijailError):
        return str(err)
    if isinstance(err, OSError):
        where = f" {err.filename}" if err.filename else ""
        return f"{type(err).__name__}:{where} {err.strerror or err}"
    return f"{type(err).__name__}: {err}"

