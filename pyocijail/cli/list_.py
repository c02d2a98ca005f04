# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""List containers: a table, ids only (-q) or JSON."""

import sys


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    parser.add_argument("--format", "-f", choices=("table", "json"), default="table")
    parser.add_argument("--quiet", "-q", action="store_true", help="ids only")


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.lifecycle.query import containers

    rows = containers(ctx)
    if args.quiet:
        sys.stdout.write("".join(f"{r['id']}\n" for r in rows))
    elif args.format == "json":
        from pyocijail.cli._common import print_json

        print_json(rows)
    else:
        table = [("ID", "PID", "STATUS", "BUNDLE", "CREATED")]
        table += [(r["id"], str(r.get("pid", 0)), r["status"], r["bundle"], r["created"])
                  for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        for *cells, created in table:
            padded = (c.ljust(w) for c, w in zip(cells, widths, strict=True))
            sys.stdout.write("   ".join(padded) + "   " + created + "\n")
    return 0
