"""lifecycle/events.py: the stream ends quietly when the container's folder goes,
and only then. In process: the record names this test's own process as the init
(alive, so "running") and no cgroups, so the Linux backend's stats read nothing."""

from __future__ import annotations

import os
import shutil

import pytest

from pyocijail.errors import PyocijailError
from pyocijail.lifecycle.context import Context
from pyocijail.lifecycle.events import events
from pyocijail.log import LogSink
from pyocijail.state import liveness
from pyocijail.state.record import Record


@pytest.fixture
def ctx(tmp_path):
    from pyocijail.backends.linux.backend import LinuxBackend

    ctx = Context(str(tmp_path / "root"), LogSink(),
                  backend_factory=lambda platform, log: LinuxBackend(None, log))
    cdir = ctx.store.create("c1")
    pid = os.getpid()
    cdir.write(Record("c1", "/bundle", status="created", pid=pid,
                      start_time=liveness.start_time(pid)))
    cdir.unlock()
    return ctx


def _stream(ctx: Context, on_first) -> list[dict]:
    seen: list[dict] = []

    def write(event: dict) -> None:
        seen.append(event)
        if len(seen) == 1:
            on_first()

    events(ctx, "c1", write, stats_only=False, interval=0.01)
    return seen


def test_events_end_when_the_container_is_deleted(ctx):
    seen = _stream(ctx, lambda: shutil.rmtree(ctx.store.path("c1")))
    assert seen and seen[0]["type"] == "stats" and seen[0]["id"] == "c1"


def test_events_end_when_state_json_is_already_gone(ctx):
    """delete removes the files first: a folder without state.json is a delete too."""
    seen = _stream(ctx, lambda: os.unlink(os.path.join(ctx.store.path("c1"), "state.json")))
    assert seen


def test_events_report_a_folder_they_must_not_trust(ctx):
    """Any other failure is reported, not taken for a delete (it used to end quietly)."""
    folder = ctx.store.path("c1")
    with pytest.raises(PyocijailError, match="writable by other users"):
        _stream(ctx, lambda: os.chmod(folder, 0o777))
    os.chmod(folder, 0o700)
