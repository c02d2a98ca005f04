"""List the processes of a container (`--format json`: a JSON array of pids)."""

from __future__ import annotations

import sys

from pyocijail.cli._common import add_id


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    parser.add_argument("--format", "-f", choices=("table", "json"), default="table")
    add_id(parser)
    parser.add_argument("ps_args", nargs="*", help="accepted for runc compatibility")


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.lifecycle.pause import processes

    pids = processes(ctx, args.id)
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(pids) + "\n")
    else:
        sys.stdout.write("PID\n" + "".join(f"{p}\n" for p in pids))
    return 0
