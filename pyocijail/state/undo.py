# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The undo journal: one JSON object per line, appended before each change.

A runtime killed half-way through create leaves a journal that says what
exists; `delete --force` replays it backwards. Appends are plain O_APPEND
writes: the failure we guard against is the runtime dying, and the page
cache survives that; a host crash takes every mount and jail with it too.
"""

import posix  # not os (~2 ms per call): tests/unit/test_import_budget.py

from pyocijail import jsonlite

TYPE_CHECKING = False  # not `from typing import`: `delete` must not pay for typing
if TYPE_CHECKING:
    from typing import Any


class UndoFile:
    def __init__(self, path: str) -> None:
        self.path = path

    def append(self, entry: "dict[str, Any]") -> None:
        from pyocijail.process.stream import write_all  # (delete only reads the journal)

        line = (jsonlite.dumps(entry, compact=True) + "\n").encode()
        fd = posix.open(self.path, posix.O_WRONLY | posix.O_APPEND | posix.O_CREAT
                        | posix.O_CLOEXEC, 0o600)
        try:
            write_all(fd, line)
        finally:
            posix.close(fd)

    def entries(self) -> "list[dict[str, Any]]":
        try:
            with open(self.path, "rb") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                entry = jsonlite.loads(line)
            except ValueError:
                continue  # a line torn by a crash mid-write
            if isinstance(entry, dict):
                out.append(entry)
        return out
