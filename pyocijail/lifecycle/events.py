"""events: a container's resource statistics and OOM kills as runc's JSON events.

Each event is one line, `{"type": "stats"|"oom", "id": ID, "data": ...}`
(runc `types.Event`; the stats are its `types.Stats` from the cgroup). With
`stats_only` one stats event is printed; otherwise one every `interval`
seconds and an `oom` event for each kill, until the container stops.

Divergence from runc: OOM kills are found by polling the cgroup's oom_kill
counter (memory.events on v2, memory.oom_control on v1) every 0.1 s, not
through an eventfd or inotify; each kill counted is one event.
"""

from __future__ import annotations

import time

from pyocijail.errors import ContainerNotFound, PyocijailError, StateMissing
from pyocijail.lifecycle.query import load
from pyocijail.state.status import Status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pyocijail.lifecycle.context import Context

OOM_POLL = 0.1  # seconds between looks at the oom_kill counter


def _backend_state(ctx: Context, container_id: str) -> dict[str, Any] | None:
    """The backend's state of a container that is not stopped; None once it stopped."""
    _, record, status = load(ctx, container_id)
    return None if status is Status.STOPPED else record.backend_state


def _source(ctx: Context) -> tuple[Callable[[dict[str, Any]], dict[str, Any]],
                                   Callable[[dict[str, Any]], int]]:
    if not ctx.backend.supports_events:
        raise PyocijailError("events is not supported by this platform's backend")
    return ctx.backend.stats, ctx.backend.oom_kills


def events(ctx: Context, container_id: str, write: Callable[[dict[str, Any]], None], *,
           stats_only: bool, interval: float) -> None:
    if interval <= 0:
        raise PyocijailError("duration interval must be greater than 0")  # runc's words
    state = _backend_state(ctx, container_id)
    if state is None:
        raise PyocijailError(f"container with id {container_id} is not running")
    stats, kills = _source(ctx)
    if stats_only:
        write({"type": "stats", "id": container_id, "data": stats(state)})
        return
    seen = kills(state)
    next_stats = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= next_stats:
            write({"type": "stats", "id": container_id, "data": stats(state)})
            next_stats = now + interval
        time.sleep(max(0.0, min(OOM_POLL, next_stats - time.monotonic())))
        count = kills(state)
        for _ in range(max(0, count - seen)):
            write({"type": "oom", "id": container_id})
        seen = max(seen, count)
        try:
            if _backend_state(ctx, container_id) is None:
                return  # stopped: runc ends when the cgroup goes
        except (ContainerNotFound, StateMissing):
            return  # deleted meanwhile (state.json goes first): the same end
