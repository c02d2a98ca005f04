"""Create, start and wait for a container; exit with its exit code."""

from __future__ import annotations

from pyocijail.cli._common import add_create_options, add_id, create_request


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    add_create_options(parser)
    parser.add_argument("--detach", "-d", action="store_true", help="do not wait")
    parser.add_argument("--keep", action="store_true", help="do not delete after exit")
    add_id(parser)


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.lifecycle.run import run as run_container

    return run_container(ctx, create_request(args), detach=args.detach, keep=args.keep)
