"""Drive a program on a real pseudo-terminal: what a person at a terminal does.

The program gets the pty slave as its controlling terminal and stdio; the
test reads and writes the master, and resizes it (the kernel then sends
SIGWINCH to the foreground process group, as a terminal emulator does).
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str], rows: int = 24,
                 cols: int = 80) -> None:
        self.master, slave = os.openpty()
        self.resize(rows, cols)
        self.proc = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True, close_fds=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.buffer = ""

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every slave fd is closed
            return False
        if not data:
            return False
        self.buffer += data.decode(errors="replace")
        return True

    def expect(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """Wait for `pattern` in the output; consume the output up to its end."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            match = regex.search(self.buffer)
            if match:
                self.buffer = self.buffer[match.end():]
                return match
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.5)) and self.proc.poll() is not None
                             and not self._read(0.1)):
                raise AssertionError(f"never saw {pattern!r}; output so far: {self.buffer!r}")

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            self._read(0.1)  # keep draining, or the program blocks on a full pty
            if time.monotonic() > deadline:
                raise AssertionError(f"still running; output: {self.buffer!r}")
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)

    def resize_and_check(self, rows: int, cols: int, timeout: float = 10) -> None:
        """Resize, then ask the shell for its size until the change arrives.

        The change travels asynchronously (SIGWINCH to the client, which tells
        conmon or the shim to resize the pty master), so ask more than once.
        """
        self.resize(rows, cols)
        deadline = time.monotonic() + timeout
        while True:
            self.send("stty size\r")
            try:
                self.expect(rf"\n{rows} {cols}\r", timeout=1)
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
