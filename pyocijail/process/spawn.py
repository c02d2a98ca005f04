"""fork, with the child kept out of the runtime's code for good."""

from __future__ import annotations

import posix  # not os (~2 ms per call): tests/unit/test_import_budget.py

from pyocijail.errors import KernelError

TYPE_CHECKING = False  # collections.abc costs `delete` an import (it loads this module)
if TYPE_CHECKING:
    from collections.abc import Callable


def fork_child(child: Callable[[], None]) -> int:
    """Fork; the child runs `child` and exits, never unwinding into the caller's
    `with` blocks or exception handlers (they belong to the runtime)."""
    try:
        pid = posix.fork()
    except OSError as err:
        raise KernelError("fork", err.errno) from None
    if pid == 0:
        try:
            child()
        finally:
            posix._exit(1)
    return pid
