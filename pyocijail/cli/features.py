"""Print what this runtime supports (runtime-spec features document)."""

from __future__ import annotations

from pyocijail.cli import Args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

OPTIONS = ()


def run(args: Args, ctx: Context) -> int:
    from pyocijail.cli import print_json
    from pyocijail.lifecycle.features import features

    print_json(features(ctx))
    return 0
