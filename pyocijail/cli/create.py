"""Create a container from a bundle; its process waits for `start`."""

from __future__ import annotations

from pyocijail.cli._common import add_create_options, add_id, create_request


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    add_create_options(parser)
    parser.add_argument("--detach", "-d", action="store_true", help="accepted; always detached")
    add_id(parser)


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.lifecycle.create import create

    create(ctx, create_request(args))
    return 0
