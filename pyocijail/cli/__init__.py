"""The runc-style command line: global flags, then one subcommand, then the id.

`main` parses the global flags by hand (they always precede the command),
imports only the chosen command's module from `COMMANDS`, lets it parse the
rest with argparse, and turns any `PyocijailError` into exit 1 plus one log
line. Command modules define `add_arguments(parser)` and `run(args, ctx)`.
"""

from __future__ import annotations

import sys

from pyocijail import SPEC_VERSION, __version__
from pyocijail.log import LogSink, one_line
from pyocijail.errors import PyocijailError, UsageError

DEFAULT_ROOT = "/var/run/pyocijail"

#: command name -> module under pyocijail.cli (imported only when used).
COMMANDS = {
    "create": "create",
    "start": "start",
    "state": "state",
    "kill": "kill",
    "delete": "delete",
    "run": "run",
    "exec": "exec_",
    "list": "list_",
    "ps": "ps",
    "features": "features",
    "spec": "spec",
    "plan": "plan",
    "pause": "pause",
    "resume": "pause",
    "update": "update",
    "events": "events",
    "checkpoint": "unsupported",
    "restore": "unsupported",
}

# Global flags taking a value; a value of None marks accepted-and-ignored ones.
_VALUED = {"--root": "root", "--log": "log", "--log-format": "log_format",
           "--log-level": "log_level", "--cgroup-manager": None, "--rootless": None,
           "--criu": None}
_FLAGS = {"--debug", "--systemd-cgroup"}


class GlobalOptions:
    """The flags before the command; built by `parse_globals`."""

    def __init__(self) -> None:
        self.root = DEFAULT_ROOT
        self.log: str | None = None
        self.log_format = "text"
        self.log_level = "warn"
        self.command: str | None = None
        self.rest: list[str] = []
        self.version = False
        self.help = False


def parse_globals(argv: list[str]) -> GlobalOptions:
    opts = GlobalOptions()
    i = 0
    while i < len(argv):
        word = argv[i]
        name, eq, value = word.partition("=")
        if name in _VALUED:
            if not eq:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"flag needs an argument: {name}")
                value = argv[i]
            if _VALUED[name]:
                setattr(opts, _VALUED[name], value)
        elif word in _FLAGS:
            if word == "--debug":
                opts.log_level = "debug"
        elif word in ("--version", "-v"):
            opts.version = True
        elif word in ("--help", "-h"):
            opts.help = True
        elif word.startswith("-"):
            raise UsageError(f"flag provided but not defined: {word}")
        else:
            opts.command, opts.rest = word, argv[i + 1:]
            break
        i += 1
    opts.log_format = opts.log_format.lower()
    if opts.log_format not in ("text", "json"):
        raise UsageError(f"invalid log format {opts.log_format!r}: use text or json")
    return opts


def _usage() -> str:
    return ("usage: pyocijail [--root DIR] [--log FILE] [--log-format text|json] "
            "[--log-level LEVEL] COMMAND [OPTIONS] ID\n\ncommands: "
            + ", ".join(sorted(COMMANDS)) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sink = LogSink()
    try:
        opts = parse_globals(argv)
        sink.configure(opts.log, opts.log_format, opts.log_level)
        if opts.version:
            sys.stdout.write(f"pyocijail version {__version__}\ncommit: {_commit()}\n"
                             f"spec: {SPEC_VERSION}\n")
            return 0
        if opts.command is None:
            if opts.help:
                sys.stdout.write(_usage())
                return 0
            raise UsageError("no command given\n" + _usage())
        if opts.command not in COMMANDS:
            raise UsageError(f"unknown command {opts.command!r}\n" + _usage())
        return _run_command(opts, sink)
    except PyocijailError as err:
        if isinstance(err, UsageError):
            sink.error(str(err))  # may carry the usage text
            return 2
        sink.error(one_line(str(err)))
        return 1
    except KeyboardInterrupt:
        sink.error("interrupted")
        return 130


def _run_command(opts: GlobalOptions, sink: LogSink) -> int:
    import importlib

    from pyocijail.lifecycle.context import Context

    module = importlib.import_module(f"pyocijail.cli.{COMMANDS[opts.command]}")
    ctx = Context(root=opts.root, log=sink, command=opts.command)
    if getattr(module, "RAW", False):
        return int(module.run(opts.rest, ctx) or 0)
    parser = _Parser(prog=f"pyocijail {opts.command}",
                     description=(module.__doc__ or "").strip().splitlines()[0])
    module.add_arguments(parser, opts.command)
    args = parser.parse_args(opts.rest)
    return int(module.run(args, ctx) or 0)


class _Parser:
    """argparse, but usage errors become `UsageError` instead of SystemExit(2)."""

    def __new__(cls, **kwargs: object) -> object:
        import argparse

        class Parser(argparse.ArgumentParser):
            def error(self, message: str) -> None:  # type: ignore[override]
                raise UsageError(f"{self.prog}: {message}")

        return Parser(allow_abbrev=False, **kwargs)  # type: ignore[arg-type]


def _commit() -> str:
    """The git commit baked in at install time, if any."""
    try:
        from pyocijail._build import COMMIT  # type: ignore[import-not-found]
    except ImportError:
        return "unknown"
    return str(COMMIT)

