# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Start the user program of a created container."""

from pyocijail.cli import ID, Args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

OPTIONS = (ID,)


def run(args: Args, ctx: "Context") -> int:
    from pyocijail.lifecycle.start import start

    start(ctx, args.id)
    return 0
