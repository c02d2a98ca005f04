"""exec: run another process in a running container.

Like create, the pid written to `--pid-file` is a child of this runtime
that itself execs the user program, so conmon (a subreaper) can wait on it
once we exit. Failures found before the exec (missing binary, bad user,
cwd) are reported here with the words podman maps, and no pid file is
written.
"""

from __future__ import annotations

import _socket
import os

from pyocijail.errors import ConfigError, InitFailed
from pyocijail.failpoints import failpoint
from pyocijail.lifecycle.query import load
from pyocijail.process.preserved import check_preserved_fds
from pyocijail.process.sync import ERROR, READY, Channel
from pyocijail.state.status import check

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context
    from pyocijail.spec.model import Process


def exec_process(ctx: Context, container_id: str, process: Process, *, detach: bool,
                 pid_file: str | None = None, console_socket: str | None = None,
                 preserve_fds: int = 0) -> int:
    """Start `process` in the container; the exit code when not detached, else 0."""
    check_preserved_fds(preserve_fds)  # before the runtime opens any fd
    if process.terminal and console_socket is None and detach:
        raise ConfigError("process.terminal is true but no --console-socket was given")
    if console_socket is not None and not process.terminal:
        raise ConfigError("--console-socket given but process.terminal is false")
    _, record, status = load(ctx, container_id)
    check("exec", status)
    backend = ctx.backend
    backend.check_process(process)  # (Linux: the LSMs)
    # As in create: the new process's cgroup attach (Linux) then finds the kernel's
    # lock warm instead of waiting ~10 ms for it after the fork. (The CLI starts it
    # before its imports; a second call does nothing.)
    backend.warm_up()
    console_sock, relay = None, None
    if process.terminal:
        from pyocijail.process import console  # (termios: only for a terminal)
    if console_socket is not None:
        console_sock = console.connect(console_socket)
    elif process.terminal:
        relay, console_sock = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    parent, child = Channel.pair()
    # The forked process's code, imported here: it inherits it, and the import
    # overlaps the warm-up's wait (joined before the fork) instead of following it.
    # So is the pid file's writer.
    from pyocijail.process.init import exec_main

    if pid_file:
        from pyocijail.lifecycle.pidfile import write_pid_file

    def run_in_container() -> None:
        parent.close()
        if relay is not None:
            relay.close()
        exec_main(backend, record.backend_state, record.pid, process, child, console_sock,
                  preserve_fds)

    pid = backend.fork_joined(record.backend_state, record.pid, run_in_container)
    failpoint("exec.after-fork")
    child.close()
    if console_sock is not None:
        console_sock.close()
    try:
        _confirm(parent, process.args[0], record.pid)
    except BaseException:
        os.waitpid(pid, 0)
        raise
    finally:
        parent.close()
    failpoint("exec.after-ready")
    if pid_file:
        write_pid_file(pid_file, pid)
    if detach:
        return 0
    if relay is not None:
        master = console.recv_master(relay)
        relay.close()
        console.proxy(master)
        os.close(master)
    _, status_code = os.waitpid(pid, 0)
    return exit_code(status_code)


def _confirm(chan: Channel, name: str, init_pid: int) -> None:
    """READY, then EOF once execve closed the channel; ERROR at any point fails,
    and so does the exec helper's failure record (in a failed execve's words)."""
    from pyocijail.process import exechelper

    chan.expect(READY, lambda: "exec process exited before it was ready")
    while (raw := chan.recv_bytes()) is not None:
        failed = exechelper.failure(name, raw, init_pid)
        if failed is not None:
            raise InitFailed("exec", failed)
        msg = chan.decode(raw)
        if msg is not None and msg.get("t") == ERROR:
            raise InitFailed("exec", str(msg.get("msg")))


def exit_code(wait_status: int) -> int:
    """The container's exit code as a shell reports it (128 + signal)."""
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code
