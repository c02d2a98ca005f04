"""Update a container's resource limits from --resources FILE (or -) and runc's flags."""

from __future__ import annotations

from pyocijail.cli._common import add_id


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().rstrip("b")
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    parser.add_argument("--resources", "-r", default="",
                        help="linux.resources JSON file, or - for stdin")
    parser.add_argument("--memory", type=_size)
    parser.add_argument("--cpu-quota", type=int)
    parser.add_argument("--cpu-period", type=int)
    parser.add_argument("--cpu-share", dest="cpu_shares", type=int)
    parser.add_argument("--cpuset-cpus")
    parser.add_argument("--pids-limit", type=int)
    add_id(parser)


def run(args, ctx):  # type: ignore[no-untyped-def]
    from pyocijail.lifecycle.update import read_resources, update

    resources = read_resources(args.resources, vars(args))
    update(ctx, args.id, resources)
    return 0
