"""`pyocijail --help`, `pyocijail help [COMMAND]`: the commands, one line each.

Only help imports this module; the hot commands never pay for it.
"""

from __future__ import annotations

import sys

from pyocijail import DEFAULT_ROOT

#: command -> its one-line summary, in the order `--help` lists them (runc's).
SUMMARIES = {
    "create": "create a container from a bundle; its process waits for start",
    "start": "start the user program of a created container",
    "state": "print the OCI state JSON of a container",
    "kill": "send a signal (default TERM) to the container's process, --all to every one",
    "delete": "delete a container and everything create made for it",
    "run": "create, start and wait for a container, then delete it",
    "exec": "run another process in a created or running container",
    "list": "list the containers under the state root",
    "ps": "show the processes of a container (ps -ef, or `ps ID -- PS-OPTIONS`)",
    "events": "print a container's resource statistics and OOM events as JSON",
    "pause": "freeze every process of a container",
    "resume": "thaw a paused container",
    "update": "change a container's resource limits",
    "features": "print what this runtime supports (runtime-spec features JSON)",
    "spec": "write a default config.json into a bundle",
    "plan": "print what create would do for a bundle, without doing any of it",
    "checkpoint": "not supported (fails, as podman's probe expects)",
    "restore": "not supported",
}


def usage() -> str:
    width = max(map(len, SUMMARIES))
    lines = "".join(f"  {name:<{width}}  {text}\n" for name, text in SUMMARIES.items())
    return ("usage: pyocijail [--root DIR] [--log FILE] [--log-format text|json] "
            "[--log-level LEVEL] COMMAND [OPTIONS] ID\n\n"
            f"global options:\n"
            f"  --root DIR          state directory (default {DEFAULT_ROOT})\n"
            "  --log FILE          append errors (and debug lines) to FILE\n"
            "  --log-format F      text (default) or json\n"
            "  --log-level L       debug, info, warn (default), error\n"
            "  --version, -v       print the version, commit and runtime-spec version\n\n"
            f"commands:\n{lines}\n"
            "Run 'pyocijail COMMAND --help' (or 'pyocijail help COMMAND') for a command's "
            "options.\n")


def run(rest: list[str], ctx: object) -> int:
    """`help` alone prints the usage; `help CMD` is `CMD --help`."""
    if not rest:
        sys.stdout.write(usage())
        return 0
    from pyocijail.cli import COMMANDS, main
    from pyocijail.errors import UsageError

    if len(rest) > 1:
        raise UsageError("help: give one command")
    if rest[0] not in COMMANDS:  # here, where the --log is configured
        raise UsageError(f"help: unknown command {rest[0]!r}")
    return main([rest[0], "--help"])


RAW = True  # the words after `help` are read here, not by argparse
