"""Not supported by this runtime (podman probes `checkpoint --help`: it must fail)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from pyocijail.lifecycle.context import Context

RAW = True  # no argparse: `--help` must not succeed here


def run(rest: list[str], ctx: Context) -> NoReturn:
    from pyocijail.errors import PyocijailError

    raise PyocijailError(f"{ctx.command} is not supported by pyocijail")
