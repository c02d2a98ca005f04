# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Start the user program of a created container."""


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    from pyocijail.cli._common import add_id  # (help and usage errors only)

    add_id(parser)


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.lifecycle.start import start

    start(ctx, args.id)
    return 0
