"""The console socket: the test plays conmon, receives the pty master and talks through it."""

from __future__ import annotations

import os
import socket
import time

import pytest

from pyocijail.process.console import recv_master
from pyocijail.testing.clients.driver import reap

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def _listen(workdir):
    path = os.path.join(workdir, "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    server.settimeout(20)
    return server, path


def _read_until(fd, needle, timeout=10):
    out = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(fd, False)
    while needle not in out and time.monotonic() < deadline:
        try:
            out += os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:  # EIO: the slave side closed
            break
    return out


def test_create_sends_pty_master_over_console_socket(runtime, bundle, workdir):
    """One SCM_RIGHTS fd arrives; through it we see the container's tty and window size."""
    server, path = _listen(workdir)
    b = bundle(["sh", "-c", "tty; stty size; read x; echo got:$x"],
               process={"terminal": True, "consoleSize": {"height": 33, "width": 101}})
    runtime.ok("create", "--bundle", b, "--console-socket", path, "c1")
    conn, _ = server.accept()
    master = recv_master(conn)
    conn.close()
    server.close()
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1")
    out = _read_until(master, b"33 101")
    assert b"/dev/pts/" in out, out
    assert b"33 101" in out, out
    os.write(master, b"typed\n")
    out = _read_until(master, b"got:typed")
    assert b"got:typed" in out, out
    assert reap(pid) == 0
    os.close(master)


def test_terminal_without_console_socket_is_an_error(runtime, bundle):
    """process.terminal needs --console-socket for create; nothing is left."""
    b = bundle(["sh"], process={"terminal": True})
    res = runtime("create", "--bundle", b, "c1")
    assert res.code == 1 and "console-socket" in res.err
    assert runtime.ids() == []


def test_console_socket_without_terminal_is_an_error(runtime, bundle, workdir):
    """--console-socket with terminal false is refused before anything is made."""
    server, path = _listen(workdir)
    b = bundle(["sh"])
    res = runtime("create", "--bundle", b, "--console-socket", path, "c1")
    server.close()
    assert res.code == 1 and "terminal is false" in res.err
    assert runtime.ids() == []


def _exec_tty(runtime, bundle, workdir, script: str, until: bytes) -> bytes:
    """What `exec --tty --console-socket` of `sh -c script` in a running container
    prints on its pty, up to `until`."""
    b = bundle(["sleep", "60"])
    runtime.ok("run", "--detach", "--bundle", b, "c1")
    server, path = _listen(workdir)
    runtime.ok("exec", "--tty", "--detach", "--console-socket", path, "c1", "sh", "-c",
               script)
    conn, _ = server.accept()
    master = recv_master(conn)
    conn.close()
    server.close()
    try:
        return _read_until(master, until)
    finally:
        os.close(master)


def test_exec_tty_over_console_socket(runtime, bundle, workdir):
    """exec --tty --console-socket gives the exec'd process its own pty."""
    out = _exec_tty(runtime, bundle, workdir, "tty; echo done", b"done")
    assert b"/dev/pts/" in out and b"done" in out, out


def test_exec_tty_is_the_session_leaders_controlling_terminal(runtime, bundle, workdir):
    """The exec'd program leads its own session with the pty as its controlling
    terminal (on Linux the exec helper makes both, after its fork into the
    container's pid namespace). A guard: it held before the helper too."""
    out = _exec_tty(runtime, bundle, workdir,
                    'echo "stat $$ $(cut -d" " -f6,7 /proc/$$/stat) end"', b"end")
    line = next(x for x in out.decode().splitlines() if x.startswith("stat "))
    pid, session, tty_nr = line.split()[1:4]
    assert session == pid and int(tty_nr) != 0, out
