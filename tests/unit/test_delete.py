"""lifecycle/delete.py: which failures to read a record mean "remove what is left".

In process, over the simulated FreeBSD host (nothing on this machine changes).
"""

from __future__ import annotations

import os

import pytest

from pyocijail.errors import KernelError, StateCorrupt, StateMissing
from pyocijail.lifecycle.context import Context
from pyocijail.lifecycle.delete import delete
from pyocijail.log import LogSink
from pyocijail.state.record import Record
from pyocijail.state.store import ContainerDir
from pyocijail.testing import simhost
from pyocijail.testing.simkernel import SimulatedKernel


@pytest.fixture
def ctx(tmp_path):
    sim = str(tmp_path / "sim.json")
    SimulatedKernel.configure(sim)
    return Context(str(tmp_path / "root"), LogSink(),
                   backend_factory=simhost.backend_factory(sim))


def _leftover(ctx: Context, state: bytes | None) -> str:
    """A container folder whose state.json holds `state` (None: has none)."""
    cdir = ctx.store.create("c1")
    cdir.write(Record("c1", "/bundle", status="created"))
    if state is None:
        os.unlink(cdir.file("state.json"))
    else:
        with open(cdir.file("state.json"), "wb") as f:
            f.write(state)
    cdir.unlock()
    return cdir.path


_LEFT = r"; use delete --force to remove what is left$"


@pytest.mark.parametrize(("state", "error", "words"), [
    (b"\x00\xff garbage", StateCorrupt, r'^container "c1": state is corrupt \(.*\)' + _LEFT),
    (None, StateMissing, r'^container "c1": state is missing' + _LEFT),
])
def test_unreadable_record_needs_force(ctx, state, error, words):
    path = _leftover(ctx, state)
    with pytest.raises(error, match=words):
        delete(ctx, "c1")
    assert os.path.isdir(path)
    delete(ctx, "c1", force=True)
    assert not os.path.exists(path)


def test_force_does_not_take_a_kernel_error_for_an_unreadable_record(ctx, monkeypatch):
    """Only StateCorrupt/StateMissing mean "remove what is left"; any other failure
    to read is reported and the folder stays (it used to be removed as leftovers)."""
    path = _leftover(ctx, None)

    def read(self: ContainerDir) -> Record:
        raise KernelError("read", 5, self.file("state.json"))

    monkeypatch.setattr(ContainerDir, "read", read)
    with pytest.raises(KernelError, match=r"Input/output error"):
        delete(ctx, "c1", force=True)
    assert os.path.isdir(path)
