"""Print what create would do for a bundle, without doing any of it.

`pyocijail plan [--platform freebsd|linux] [--format json|text] --bundle B ID`
"""

from __future__ import annotations

import json
import os
import sys

from pyocijail.cli import Args, Option, Word
from pyocijail.errors import PyocijailError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.lifecycle.context import Context


OPTIONS = (
    Option("--platform", choices=("freebsd", "linux"), default="freebsd",
           help="the backend whose plan to show (default: freebsd)"),
    Option("--format", choices=("json", "text"), default="json",
           help="json (default) or a readable list"),
    Option("--bundle", "-b", default=".", help="bundle directory (default: .)"),
    Word("id", metavar="ID", help="container id (names the jail)"),
)


def run(args: Args, ctx: Context) -> int:
    from pyocijail.spec.load import load_config

    bundle = os.path.abspath(args.bundle)
    spec, _ = load_config(bundle)
    if args.platform == "freebsd":
        from pyocijail.backends.freebsd.backend import FreeBSDBackend

        backend: Any = FreeBSDBackend(None, ctx.log)  # planning needs no kernel
    else:
        try:
            from pyocijail.backends import select_backend

            backend = select_backend("linux", ctx.log)
        except ImportError as err:
            raise PyocijailError("plan: the Linux backend is not available in this "
                                 "build") from err
    plan = backend.plan(args.id, spec, bundle, os.path.join(ctx.root, args.id))
    if args.format == "json":
        sys.stdout.write(json.dumps(plan.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(plan.to_text())
    return 0
