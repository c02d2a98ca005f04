# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Print the state of a container as OCI state JSON."""

from pyocijail.cli._common import add_id, print_json


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    add_id(parser)


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.lifecycle.query import state

    print_json(state(ctx, args.id))
    return 0
