"""Create a container from a bundle; its process waits for `start`."""

from __future__ import annotations

from pyocijail.cli import ID, Args, Flag, Option

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context
    from pyocijail.lifecycle.create import CreateRequest

#: create's and run's options (runc's; --no-pivot and --no-new-keyring accepted, unused)
CREATE_OPTIONS = (
    Option("--bundle", "-b", default=".", help="bundle directory (default: .)"),
    Option("--pid-file", help="write the container process's pid here"),
    Option("--console-socket", help="AF_UNIX socket that receives the pty master"),
    Option("--preserve-fds", type=int, default=0,
           help="pass N extra fds (3..3+N-1) to the container"),
    Flag("--no-pivot", hidden=True),
    Flag("--no-new-keyring", hidden=True),
)

OPTIONS = (*CREATE_OPTIONS, Flag("--detach", "-d", help="accepted; always detached"), ID)


def create_request(args: Args) -> CreateRequest:
    """The request `create` and `run` make of their options."""
    from pyocijail.lifecycle.create import CreateRequest

    return CreateRequest(args.id, args.bundle, pid_file=args.pid_file,
                         console_socket=args.console_socket, preserve_fds=args.preserve_fds)


def run(args: Args, ctx: Context) -> int:
    from pyocijail.lifecycle.create import create

    create(ctx, create_request(args))
    return 0
