"""Update a container's resource limits (runc's flags, or --resources FILE|-)."""

from __future__ import annotations

from pyocijail.cli import ID, Args, Option

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

#: runc's single-value flags: (flag, type)
_FLAGS = (("--blkio-weight", int), ("--cpu-period", int), ("--cpu-quota", int),
          ("--cpu-share", int), ("--cpu-rt-period", int), ("--cpu-rt-runtime", int),
          ("--cpuset-cpus", str), ("--cpuset-mems", str), ("--kernel-memory", str),
          ("--kernel-memory-tcp", str), ("--memory", str), ("--memory-reservation", str),
          ("--memory-swap", str), ("--pids-limit", int), ("--l3-cache-schema", str),
          ("--mem-bw-schema", str))


OPTIONS = (Option("--resources", "-r", help="linux.resources JSON file, or - for standard input"),
           *(Option(flag, type=kind) for flag, kind in _FLAGS),
           ID)


def run(args: Args, ctx: Context) -> int:
    from pyocijail.lifecycle.update import resources_from, update
    from pyocijail.spec.load import parse_json

    data = None
    if args.resources:
        if args.resources == "-":
            import sys

            raw = sys.stdin.buffer.read()
        else:
            from pyocijail.errors import ConfigError

            try:
                with open(args.resources, "rb") as f:
                    raw = f.read()
            except OSError as err:
                raise ConfigError(f"{args.resources}: {err.strerror}") from None
        data = parse_json(raw, args.resources)
    flags = {flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"))
             for flag, _ in _FLAGS}
    update(ctx, args.id, resources_from(data, flags))
    return 0
