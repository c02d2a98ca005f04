"""Not supported by this runtime (podman probes `checkpoint --help`: it must fail)."""

from __future__ import annotations

RAW = True  # no argparse: `--help` must not succeed here


def run(rest, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.errors import PyocijailError

    raise PyocijailError(f"{ctx.command} is not supported by pyocijail")
