# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Delete a container and everything create made for it."""

from pyocijail.cli import ID, Args, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

OPTIONS = (Flag("--force", "-f", help="kill a running container; succeed if it does not exist"),
           ID)


def run(args: Args, ctx: "Context") -> int:
    from pyocijail.lifecycle.delete import delete

    delete(ctx, args.id, force=args.force)
    return 0
