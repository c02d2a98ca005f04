"""A person at a terminal: `run` and `exec --tty` relay it to the container's pty."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers import drive_terminal

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def test_run_with_terminal_relays_the_pty(runtime, bundle):
    """`run` of a terminal config: the program sees a tty, reads what we type, exits."""
    b = bundle(["sh", "-c", "tty; echo ready; read x; echo got:$x; exit 4"],
               process={"terminal": True})
    code, out = drive_terminal(runtime.argv("run", "--bundle", b, "c1"), b"hello\n")
    assert code == 4, out
    assert b"/dev/pts/" in out and b"got:hello" in out, out


def test_exec_tty_without_socket_relays_the_pty(runtime, bundle):
    """`exec --tty ID CMD` from a terminal gives CMD a pty and relays it."""
    b = bundle(["sleep", "60"])
    runtime.ok("run", "--detach", "--bundle", b, "c1")
    code, out = drive_terminal(runtime.argv("exec", "--tty", "c1", "sh", "-c",
                                    "tty; echo ready; read x; echo got:$x"), b"there\n")
    assert code == 0, out
    assert b"/dev/pts/" in out and b"got:there" in out, out


def test_exec_preserve_fds(runtime, bundle, workdir):
    """exec --preserve-fds 1 passes fd 3 to the exec'd process."""
    b = bundle(["sleep", "60"])
    runtime.ok("run", "--detach", "--bundle", b, "c1")
    r, w = os.pipe()

    def fd3():
        os.dup2(w, 3)

    proc = subprocess.run(runtime.argv("exec", "--preserve-fds", "1", "c1", "sh", "-c",
                                       "echo through-fd3 >&3"),
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          close_fds=False, preexec_fn=fd3, timeout=60, check=False)
    os.close(w)
    assert proc.returncode == 0
    assert os.read(r, 100) == b"through-fd3\n"
    os.close(r)
