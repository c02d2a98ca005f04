"""Show the processes of a container: `ps -ef` rows (or `ps ID -- PS-OPTIONS`), or
`--format json`, the JSON array of pids containerd reads."""

from __future__ import annotations

import sys

from pyocijail.cli import ID, Args, Option, Rest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context


OPTIONS = (
    Option("--format", "-f", choices=("table", "json"), default="table",
           help="table: the host's ps output for the container's processes (default); "
           "json: the pids"),
    ID,
    Rest("ps_args", metavar="PS-OPTIONS",
         help="options for ps(1) instead of -ef (after `--` if they start with '-')"),
)


def run(args: Args, ctx: Context) -> int:
    from pyocijail.lifecycle.pause import processes

    pids = processes(ctx, args.id)
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(pids) + "\n")
        return 0
    ps_args = args.ps_args[1:] if args.ps_args[:1] == ["--"] else args.ps_args
    sys.stdout.write(table(pids, ps_args or ["-ef"]))
    return 0


def table(pids: list[int], ps_args: list[str]) -> str:
    """runc's way: run the host's ps with `ps_args` and keep the header and the rows
    whose PID column is one of `pids`."""
    import subprocess

    from pyocijail.errors import PyocijailError

    try:
        res = subprocess.run(["ps", *ps_args], capture_output=True, text=True, check=False,
                             errors="replace")
    except OSError as err:
        raise PyocijailError(f"ps: {err.strerror}") from None
    if res.returncode != 0:
        detail = (res.stderr or res.stdout).strip().splitlines()
        raise PyocijailError(f"ps {' '.join(ps_args)}: "
                             f"{detail[0] if detail else f'exit status {res.returncode}'}")
    lines = res.stdout.splitlines()
    if not lines:
        return ""
    header = lines[0].split()
    if "PID" not in header:
        raise PyocijailError("ps output has no PID column (keep one in the -o list)")
    column = header.index("PID")
    wanted = {str(p) for p in pids}
    rows = [line for line in lines[1:]
            if len(line.split()) > column and line.split()[column] in wanted]
    return "".join(f"{line}\n" for line in [lines[0], *rows])
