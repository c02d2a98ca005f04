# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Send a signal (default TERM) to the container's process, or to all with --all."""

from pyocijail.cli import ID, Args, Flag, Word

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

OPTIONS = (Flag("--all", "-a", help="signal every process"), ID,
           Word("signal", default="TERM", help="number or name (TERM)"))


def run(args: Args, ctx: "Context") -> int:
    from pyocijail.lifecycle.kill import kill
    from pyocijail.process.signals import parse_signal

    kill(ctx, args.id, parse_signal(args.signal), all_processes=args.all)
    return 0
