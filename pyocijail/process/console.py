"""The container's terminal: a pty whose master goes to `--console-socket`.

The protocol is conmon's and containerd's: connect to an AF_UNIX stream
socket *path*, send one message with a non-empty payload (the pty name) and
exactly one SCM_RIGHTS fd, the master. No reply. When a person runs `run` or
`exec -t` without a socket, the runtime plays the socket's role itself and
relays the terminal (`proxy`).
"""

from __future__ import annotations

import _socket
import fcntl
import os
import struct
import termios

from pyocijail.errors import PyocijailError
from pyocijail.process.stream import (
    short_unix_path,  # re-exported
    write_all,
)


def connect(path: str) -> _socket.socket:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        with short_unix_path(path) as name:
            sock.connect(name)
    except OSError as err:
        sock.close()
        raise PyocijailError(f"cannot connect to console socket {path}: {err.strerror}") from err
    return sock


# A C int per fd (struct, not array: array costs an import of collections).
_FD = struct.Struct("i")


def send_master(sock: _socket.socket, master: int, name: str) -> None:
    sock.sendmsg([name.encode() or b"pty"],
                 [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, _FD.pack(master))])


def recv_master(sock: _socket.socket) -> int:
    fds: list[int] = []
    _, ancdata, _, _ = sock.recvmsg(4096, _socket.CMSG_SPACE(_FD.size))
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [fd for (fd,) in _FD.iter_unpack(data[: len(data) - len(data) % _FD.size])]
    if len(fds) != 1:
        raise PyocijailError("console: expected exactly one file descriptor")
    return fds[0]


def set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def become_controlling(slave: int, *, take: bool = True) -> None:
    """In a fresh session: make `slave` the controlling tty and fds 0-2
    (`take=False`: fds 0-2 only; the exec helper takes it after its fork)."""
    if take:
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


def proxy(master: int, *, stdin: int = 0, stdout: int = 1) -> None:
    """Relay a person's terminal to the container's until the container side closes."""
    import selectors
    import signal
    import tty

    saved = None
    if os.isatty(stdin):
        saved = termios.tcgetattr(stdin)
        tty.setraw(stdin)

        def resize(*_: object) -> None:
            size = fcntl.ioctl(stdin, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(master, termios.TIOCSWINSZ, size)

        resize()
        signal.signal(signal.SIGWINCH, resize)
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ)
    sel.register(stdin, selectors.EVENT_READ)
    try:
        while True:
            for key, _ in sel.select():
                try:
                    data = os.read(key.fd, 65536)
                except OSError:  # EIO: the container closed its side
                    data = b""
                if key.fd == master:
                    if not data:
                        return
                    write_all(stdout, data)
                elif data:
                    write_all(master, data)
                else:
                    sel.unregister(stdin)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
