# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The descriptor and socket helpers the hot commands need, in a module that
imports only `posix` (not `os`: see `pyocijail.pathlite`).

`console` (array, termios, socket) and `sync` (json, socket) are too heavy
for `start`, which runs once per container; both re-export the socket ones.
"""

import posix
import sys

from pyocijail import pathlite

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class short_unix_path:  # lower case: used as `with short_unix_path(p) as name`
    """A name for `path` that fits sun_path (104 bytes on FreeBSD, 108 on Linux).

    Longer paths are reached relative to their directory, after a chdir that
    is undone on exit. (A class, not @contextmanager: contextlib costs an import.)
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.here: int | None = None

    def __enter__(self) -> str:
        if len(self.path.encode(sys.getfilesystemencoding(), "surrogateescape")) < 100:
            return self.path
        self.here = posix.open(".", posix.O_RDONLY | posix.O_CLOEXEC)
        try:
            posix.chdir(pathlite.dirname(self.path) or ".")
        except BaseException:
            posix.close(self.here)
            self.here = None
            raise
        return pathlite.basename(self.path)

    def __exit__(self, *exc: object) -> None:
        if self.here is not None:
            try:
                posix.fchdir(self.here)
            finally:
                posix.close(self.here)
                self.here = None


def write_all(fd: int, data: bytes) -> None:
    """posix.write until all of `data` is written: one write may take only part
    (a signal during a pipe write, a full disk)."""
    view = memoryview(data)
    while view:
        view = view[posix.write(fd, view):]


def read_stream(sock: "Any") -> bytes:
    """Everything the peer writes on a stream socket until it closes it."""
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)
