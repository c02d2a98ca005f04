# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Delete a container and everything create made for it."""


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    from pyocijail.cli._common import add_id  # (help and usage errors only)

    parser.add_argument("--force", "-f", action="store_true",
                        help="kill a running container; succeed if it does not exist")
    add_id(parser)


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.lifecycle.delete import delete

    delete(ctx, args.id, force=args.force)
    return 0
