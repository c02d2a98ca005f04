"""Print what this runtime supports (runtime-spec features document)."""

from __future__ import annotations


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    pass


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.cli._common import print_json
    from pyocijail.lifecycle.features import features

    print_json(features(ctx))
    return 0
