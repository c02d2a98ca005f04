"""Container events and statistics (not supported yet)."""

from __future__ import annotations

RAW = True


def run(rest, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.errors import PyocijailError

    raise PyocijailError("events is not supported by pyocijail yet")
