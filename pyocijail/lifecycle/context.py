# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""What every operation needs: the state root, the log and the backend."""

TYPE_CHECKING = False  # not `from typing import`: hot commands must not pay for typing
if TYPE_CHECKING:
    from collections.abc import Callable

    from pyocijail.backends.base import Backend
    from pyocijail.log import LogSink
    from pyocijail.state.store import Store

    #: (platform, log) -> backend; tests pass one (the `simhost` entry point).
    BackendFactory = Callable[[str | None, LogSink], Backend]


class Context:
    def __init__(self, root: str, log: "LogSink", command: str = "",
                 platform: str | None = None,
                 backend_factory: "BackendFactory | None" = None) -> None:
        self.root, self.log, self.command, self.platform = root, log, command, platform
        self._backend_factory = backend_factory
        self._store: Store | None = None
        self._backend: Backend | None = None

    # Built on first use (plain properties: functools costs an import).
    @property
    def store(self) -> "Store":
        if self._store is None:
            from pyocijail.state.store import Store

            self._store = Store(self.root)
        return self._store

    @property
    def backend(self) -> "Backend":
        if self._backend is None:
            if self._backend_factory is not None:
                self._backend = self._backend_factory(self.platform, self.log)
            else:
                from pyocijail.backends import select_backend

                self._backend = select_backend(self.platform, self.log)
        return self._backend
