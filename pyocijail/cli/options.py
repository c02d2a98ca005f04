"""argparse, built from a command's `OPTIONS` table, for what the fast parser leaves.

Every command declares its options and words once, as data: `OPTIONS` in its own
module (`cli/<verb>.py`), next to the `run` that reads the values, the way youki's
clap structs and runc's `cli.Command` values sit with their command. A table is a
tuple of `Flag`, `Option`, `Word` and `Rest` (cli/__init__.py); what several
commands share is declared once (`ID`; create's options in `cli/create.py`).

Two parsers are built from a table. `fast_parse` (cli/__init__.py) reads the plain
forms clients send, and lives in the package module because every command loads
that anyway: a module of its own would be one more import on every hot call (the
lean layer in docs/hacking.md). This module, imported only for `--help`, usage
errors and the forms `fast_parse` leaves (short-flag clusters such as `-dt`,
`-bDIR`, a value only argparse can judge), is the other one, so help and usage
messages stay argparse's. tests/unit/test_options.py checks they agree.
"""

import argparse

from pyocijail.cli import Flag, Option, Word
from pyocijail.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from pyocijail.cli import Table


class UsageParser(argparse.ArgumentParser):
    """argparse, but a usage error raises `UsageError` (exit 1, one log line) instead of
    printing the usage and exiting 2."""

    def __init__(self, command: str, description: str) -> None:
        super().__init__(prog=f"pyocijail {command}", description=description,
                         allow_abbrev=False)
        self.command = command

    def error(self, message: str) -> "NoReturn":
        raise UsageError(f"{self.command}: {message}")


def argparse_parser(command: str, table: "Table", doc: str | None) -> UsageParser:
    """argparse for `table`; `doc`'s first line is the help's description."""
    parser = UsageParser(command, next(iter((doc or "").strip().splitlines()), ""))
    for item in table:
        if isinstance(item, Flag):
            parser.add_argument(*item.names, action="store_true",
                                help=argparse.SUPPRESS if item.hidden else item.help)
        elif isinstance(item, Option):
            parser.add_argument(*item.names, **_option_kwargs(item))
        elif isinstance(item, Word) and item.required:
            parser.add_argument(item.dest, metavar=item.metavar, help=item.help)
        elif isinstance(item, Word):
            parser.add_argument(item.dest, metavar=item.metavar, help=item.help, nargs="?",
                                default=item.default)
        else:
            parser.add_argument(item.dest, nargs=argparse.REMAINDER, metavar=item.metavar,
                                help=item.help)
    return parser


def _option_kwargs(option: Option) -> "dict[str, Any]":
    kwargs: dict[str, Any] = {"default": option.default, "help": option.help}
    if option.type is not str:
        kwargs["type"] = option.type
    if option.choices is not None:
        kwargs["choices"] = option.choices
    if option.repeat:
        kwargs["action"] = "append"
    return kwargs
