"""Print a container's stats (--stats: once) and OOM events as JSON lines, like runc."""

from __future__ import annotations

import sys

from pyocijail.cli import ID, Args, Flag, Option

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

#: Go's time.ParseDuration units (runc's --interval is a Go duration: 5s, 100ms, 1m30s)
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(text: str) -> float:
    """Seconds in a Go duration (`5s`, `250ms`, `1m30s`); a bare number is seconds."""
    import argparse
    import re

    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (use e.g. 5s, 500ms, 1m)")
    return sum(float(n) * _UNITS[u] for n, u in parts)


OPTIONS = (Option("--interval", type=duration, default=5.0,
                  help="time between stats events (a Go duration; default 5s)"),
           Flag("--stats", help="print one stats event and exit"),
           ID)


def run(args: Args, ctx: Context) -> int:
    import json

    from pyocijail.lifecycle.events import events

    def write(event: object) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    try:
        events(ctx, args.id, write, stats_only=args.stats, interval=args.interval)
    except BrokenPipeError:
        return 0  # the reader went away (`events ID | head -1`)
    return 0
