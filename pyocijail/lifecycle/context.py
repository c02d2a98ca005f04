"""What every operation needs: the state root, the log and the backend."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyocijail.backends.base import Backend
    from pyocijail.log import LogSink
    from pyocijail.state.store import Store


class Context:
    def __init__(self, root: str, log: LogSink, command: str = "",
                 platform: str | None = None) -> None:
        self.root, self.log, self.command, self.platform = root, log, command, platform

    @functools.cached_property
    def store(self) -> Store:
        from pyocijail.state.store import Store

        return Store(self.root)

    @functools.cached_property
    def backend(self) -> Backend:
        from pyocijail.backends import select_backend

        return select_backend(self.platform, self.log)
