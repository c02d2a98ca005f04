"""Pause (or, as `resume`, continue) every process of a container."""

from __future__ import annotations

from pyocijail.cli._common import add_id


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    add_id(parser)


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.lifecycle.pause import pause

    pause(ctx, args.id, frozen=ctx.command == "pause")
    return 0
