"""An in-memory undo log for backend tests (the core keeps a file-backed one)."""

from __future__ import annotations

from typing import Any


class MemoryUndoLog:
    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []

    def append(self, entry: dict[str, Any]) -> None:
        self._entries.append(dict(entry))

    def entries(self) -> list[dict[str, Any]]:
        return [dict(e) for e in self._entries]
