"""Pause (or, as `resume`, continue) every process of a container."""

from __future__ import annotations

from pyocijail.cli import ID, Args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

OPTIONS = (ID,)


def run(args: Args, ctx: Context) -> int:
    from pyocijail.lifecycle.pause import pause

    pause(ctx, args.id, frozen=ctx.command == "pause")
    return 0
