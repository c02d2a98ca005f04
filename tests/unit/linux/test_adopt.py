"""`LinuxBackend.adopt` (create) when the init is already dead: no traceback.

The init goes on importing while the runtime moves it into its cgroup, and from
the attach on that memory is charged there: a small memory limit can OOM-kill
it before the gate opens. The gate's write then fails with EPIPE, and create
must go on to its wait on the channel, which reports the kill
(tests/integration/linux/test_events.py)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from pyocijail.backends.linux.backend import LinuxBackend


def test_adopt_opens_the_gate_of_a_dead_init_without_raising():
    r, w = os.pipe()
    os.close(r)  # what the init's death leaves: no reader
    backend = LinuxBackend(None, None)
    backend._gate = w  # as `fork` leaves it
    backend.adopt(SimpleNamespace(cgroups=()), 0, None)  # type: ignore[arg-type]
    assert backend._gate is None
    with pytest.raises(OSError):  # closed all the same
        os.fstat(w)
