# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Send a signal (default TERM) to the container's process, or to all with --all."""


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    from pyocijail.cli._common import add_id  # (help and usage errors only)

    parser.add_argument("--all", "-a", action="store_true", help="signal every process")
    add_id(parser)
    parser.add_argument("signal", nargs="?", default="TERM", help="number or name (TERM)")


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.lifecycle.kill import kill
    from pyocijail.process.signals import parse_signal

    kill(ctx, args.id, parse_signal(args.signal), all_processes=args.all)
    return 0
