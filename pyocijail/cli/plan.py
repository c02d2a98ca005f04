"""Print what create would do for a bundle, without doing any of it.

`pyocijail plan [--platform freebsd|linux] [--format json|text] --bundle B ID`
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from pyocijail.errors import ConfigError, PyocijailError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--platform", choices=("freebsd", "linux"), default="freebsd",
                        help="the backend whose plan to show (default: freebsd)")
    parser.add_argument("--format", choices=("json", "text"), default="json",
                        help="json (default) or a readable list")
    parser.add_argument("--bundle", "-b", default=".", help="bundle directory (default: .)")
    parser.add_argument("id", metavar="ID", help="container id (names the jail)")


def load_config(bundle: str) -> Any:
    """(spec, raw bytes); `spec.load.load_config` once it exists on this branch."""
    try:
        from pyocijail.spec.load import load_config as load  # type: ignore[import-not-found]
    except ImportError:
        from pyocijail.spec.convert import spec_from_json

        path = os.path.join(bundle, "config.json")
        try:
            with open(path, "rb") as f:
                raw = f.read()
            return spec_from_json(json.loads(raw)), raw
        except OSError as err:
            raise ConfigError(f"cannot read {path}: {err.strerror}") from err
        except ValueError as err:
            raise ConfigError(f"{path} is not valid JSON: {err}") from err
    return load(bundle)


def run(args: argparse.Namespace, ctx: Any) -> int:
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
