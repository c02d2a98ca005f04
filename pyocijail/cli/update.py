"""Update a container's resource limits (not supported on this backend yet)."""

from __future__ import annotations

RAW = True


def run(rest, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.errors import PyocijailError

    raise PyocijailError("update is not supported by pyocijail yet")
