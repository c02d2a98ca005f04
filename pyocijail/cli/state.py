# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Print the state of a container as OCI state JSON."""

from pyocijail.cli import ID, Args, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

OPTIONS = (ID,)


def run(args: Args, ctx: "Context") -> int:
    from pyocijail.lifecycle.query import state

    print_json(state(ctx, args.id))
    return 0
