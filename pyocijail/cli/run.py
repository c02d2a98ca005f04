"""Create, start and wait for a container; exit with its exit code."""

from __future__ import annotations

from pyocijail.cli import ID, Args, Flag
from pyocijail.cli.create import CREATE_OPTIONS, create_request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

OPTIONS = (*CREATE_OPTIONS, Flag("--detach", "-d", help="do not wait"),
           Flag("--keep", help="do not delete after exit"), ID)


def run(args: Args, ctx: Context) -> int:
    from pyocijail.lifecycle.run import run as run_container

    return run_container(ctx, create_request(args), detach=args.detach, keep=args.keep)
