# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""List containers: a table, ids only (-q) or JSON."""

import sys

from pyocijail.cli import Args, Flag, Option

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

OPTIONS = (Option("--format", "-f", choices=("table", "json"), default="table"),
           Flag("--quiet", "-q", help="ids only"))


def run(args: Args, ctx: "Context") -> int:
    from pyocijail.lifecycle.query import containers

    rows = containers(ctx)
    if args.quiet:
        sys.stdout.write("".join(f"{r['id']}\n" for r in rows))
    elif args.format == "json":
        from pyocijail.cli import print_json

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
