# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The runc-style command line: global flags, then one subcommand, then the id.

`main` parses the global flags by hand (they always precede the command),
imports only the chosen command's module from `COMMANDS`, parses the rest by
the module's `OPTIONS` table (`fast_parse` below, else argparse built by
cli/options.py), and turns any `PyocijailError` into exit 1 plus one log line.
Command modules define `OPTIONS` and `run(args, ctx)`; a `RAW = True` module's
`run` gets the words themselves.
"""

import gc
import sys

from pyocijail import DEFAULT_ROOT, SPEC_VERSION, __version__
from pyocijail.errors import PyocijailError, UsageError
from pyocijail.log import LogSink, one_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from pyocijail.lifecycle.context import BackendFactory

    #: a command's `OPTIONS`: what it accepts after its name, in `--help` order
    Table = Sequence["Flag | Option | Word | Rest"]

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
    "help": "help",
}

#: Commands over in milliseconds, run without the cyclic GC (`gc_pause`), as is
#: `exec --detach`. Not `run`, `events` and an attached `exec`, which live as long
#: as a container does.
BRIEF = frozenset({"create", "start", "state", "kill", "delete", "list"})

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


def parse_globals(argv: list[str], opts: GlobalOptions | None = None) -> GlobalOptions:
    """Fill `opts` (new if None) from the flags before the command; on a usage
    error `opts` keeps what came before it (the --log to report it in)."""
    opts = GlobalOptions() if opts is None else opts
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
            dest = _VALUED[name]
            if dest is not None:
                setattr(opts, dest, value)
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


#: appended to a usage error: the error stays one line (the README's promise)
_SEE_HELP = " (pyocijail --help lists the commands)"


def main(argv: list[str] | None = None, backend: "BackendFactory | None" = None) -> int:
    """The command line; `argv` None means this process's own (sys.argv).

    `backend(platform, log)` replaces the platform's backend: the test entry
    point `simhost` passes one built on a simulated FreeBSD
    kernel. Product code never chooses it (no environment switch).

    As the program itself (argv None: the launchers' `sys.exit(main())`), the
    interpreter's teardown is skipped: after main returns and the exit begins,
    the atexit hook registered here flushes stdout and stderr and _exits with
    main's status. Tearing down the modules (a create has ~17 000 objects)
    costs 5-30 ms per call and does nothing a runtime needs: every file
    pyocijail writes is written with posix.write and closed, locks and
    descriptors go with the process. The launcher starts it with the cyclic
    GC off (its passes over the imports); it goes back on for a command not
    in `BRIEF`.
    """
    if argv is not None:
        return _main(argv, backend)
    import atexit

    status: list[int] = []
    atexit.register(_leave, status)  # registered first: runs after any later hook
    code = _main(sys.argv[1:], backend, program=True)
    status.append(code)
    return code


def _leave(status: list[int]) -> None:
    """atexit: end the process without the interpreter's teardown (see `main`)."""
    import posix  # loaded at start-up; not os (tests/unit/test_import_budget.py)

    if not status:
        return  # main did not return (an exception): the normal exit reports it
    code = status[0]
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # what the interpreter exits with when the flush fails
    posix._exit(code)


def _main(argv: list[str], backend: "BackendFactory | None" = None, program: bool = False) -> int:
    sink = LogSink()
    opts = GlobalOptions()
    try:
        try:
            parse_globals(argv, opts)
        except UsageError:
            _configure_anyway(sink, opts)
            raise
        sink.configure(opts.log, opts.log_format, opts.log_level)
        if opts.version:
            from pyocijail.buildinfo import commit

            sys.stdout.write(f"pyocijail version {__version__}\ncommit: {commit()}\n"
                             f"spec: {SPEC_VERSION}\n")
            return 0
        if opts.command is None:
            if opts.help:
                from pyocijail.cli.help import usage

                sys.stdout.write(usage())
                return 0
            raise UsageError("no command given" + _SEE_HELP)
        if opts.command not in COMMANDS:
            raise UsageError(f"unknown command {opts.command!r}" + _SEE_HELP)
        code = _run_command(opts.command, opts, sink, backend, program)
        sink.flush()
        return code
    except PyocijailError as err:
        # Usage errors too: exit 1 and one line, where runc's exit 1 has a
        # usage text after it (podman parses the --log file as one object).
        sink.error(one_line(str(err)))
        return 1
    except KeyboardInterrupt:
        sink.error("interrupted")
        return 130


def _configure_anyway(sink: LogSink, opts: GlobalOptions) -> None:
    """A bad global flag is still reported in the --log given before it."""
    fmt = opts.log_format.lower()
    sink.configure(opts.log, fmt if fmt in ("text", "json") else "text", None)


def _run_command(command: str, opts: GlobalOptions, sink: LogSink,
                 backend: "BackendFactory | None" = None, program: bool = False) -> int:
    from pyocijail.lifecycle.context import Context

    name = f"pyocijail.cli.{COMMANDS[command]}"
    __import__(name)  # not importlib: its import is one more cost on every call
    module = sys.modules[name]
    ctx = Context(root=opts.root, log=sink, command=command, backend_factory=backend)
    args: list[str] | Args = opts.rest
    brief = command in BRIEF
    if not getattr(module, "RAW", False):
        args = parse(command, module.OPTIONS, opts.rest, module.__doc__)
        brief = brief or (command == "exec" and args.detach)
    paused = brief and gc_pause()
    if not brief and program and not gc.isenabled():
        gc_on()  # (the launcher turned it off)
    try:
        return int(module.run(args, ctx) or 0)
    finally:
        if paused:
            gc_on()


def gc_pause() -> bool:
    """The cyclic GC off, for a command over in milliseconds; True if it was on (then
    `gc_on` gives it back to an in-process caller). Its passes cost 0.5-4 % of a
    call's instructions (the imports, create's plan; docs/performance.md) and, in a
    process forked meanwhile (create's init), copy the pages they touch; nothing a
    brief command makes needs collecting before it ends. (Functions, not a context
    manager class: each class a hot module defines costs ~50K instructions.)"""
    if not gc.isenabled():
        return False
    gc.disable()
    return True


def gc_on() -> None:
    """The cyclic GC back on. What was made while it was off goes to the oldest
    generation first, so that the next allocation does not start a pass over all
    of it (~0.8 ms)."""
    if not gc.get_freeze_count():  # (a caller's frozen objects stay frozen)
        gc.freeze()
        gc.unfreeze()
    gc.enable()


def print_json(data: object) -> None:
    """A command's JSON answer on stdout (state, list --format json, features)."""
    from pyocijail import jsonlite

    sys.stdout.write(jsonlite.dumps(data, indent=2) + "\n")


# --- A command's table -------------------------------------------------------------
# Each command module declares its command line once, as `OPTIONS`: a tuple of the
# values below, in the order `--help` lists them. `fast_parse` reads the plain forms
# clients send from it, without argparse (the lean layer, docs/hacking.md); anything
# else goes to argparse, built from the same table by cli/options.py. They are here,
# not in a module of their own, because every command loads this one anyway: another
# module would be one more import on every hot call.


def _dest(names: "tuple[str, ...]") -> str:
    """argparse's attribute name for an option: its first long name, else its first."""
    name = next((n for n in names if n.startswith("--")), names[0])
    return name.lstrip("-").replace("-", "_")


class Flag:
    """An option without a value: True when given (argparse's store_true)."""

    def __init__(self, *names: str, help: str | None = None, hidden: bool = False) -> None:
        self.names, self.dest, self.help, self.hidden = names, _dest(names), help, hidden


class Option:
    """An option with a value (`--name VALUE` or `--name=VALUE`): a string, `type(VALUE)`
    or one of `choices`; with `repeat`, every use is appended to a list."""

    def __init__(self, *names: str, type: "Callable[[str], Any]" = str,
                 choices: "tuple[str, ...] | None" = None, default: "Any" = None,
                 repeat: bool = False, help: str | None = None) -> None:
        self.names, self.dest, self.type, self.choices = names, _dest(names), type, choices
        self.default = [] if repeat and default is None else default
        self.repeat, self.help = repeat, help

    def value(self, word: str, attached: bool) -> "Any":
        """What argparse stores for `word`, or None where only argparse can say (the
        fast parser then leaves the whole command line to it)."""
        if self.choices is not None:
            return word if word in self.choices else None
        if self.type is int:
            return int(word) if word.isascii() and word.isdigit() else None
        if self.type is str:
            # a separate word starting with "-" is another option to argparse
            return word if attached or not word.startswith("-") else None
        return None  # a converter with its own messages (events' --interval)


_REQUIRED = object()  # a Word without a default must be given


class Word:
    """A positional word; with a `default` it may be left out (argparse's nargs="?")."""

    def __init__(self, dest: str, metavar: str | None = None, default: "Any" = _REQUIRED,
                 help: str | None = None) -> None:
        self.dest, self.metavar, self.default, self.help = dest, metavar, default, help
        self.required = default is _REQUIRED


class Rest:
    """Every word after the last `Word`, options included, verbatim (argparse's
    REMAINDER): exec's CMD ARGS, ps's PS-OPTIONS. One `--` right after the words is
    dropped, as argparse does."""

    def __init__(self, dest: str, metavar: str | None = None, help: str | None = None) -> None:
        self.dest, self.metavar, self.help = dest, metavar, help


#: the container id, the last word of most commands
ID = Word("id", metavar="ID", help="container id")


class Args:
    """A parsed command line: one attribute per `dest`, from either parser."""

    if TYPE_CHECKING:
        def __getattr__(self, name: str) -> "Any": ...


def parse(command: str, table: "Table", argv: "list[str]", doc: str | None) -> Args:
    """`argv` (the words after the command) parsed by `table`: by `fast_parse`, else
    by argparse (help, usage errors, unusual forms; `doc` for the help's description)."""
    args = fast_parse(table, argv)
    if args is None:
        from pyocijail.cli.options import argparse_parser

        args = argparse_parser(command, table, doc).parse_args(argv, namespace=Args())
    return args


def fast_parse(table: "Table", argv: "list[str]") -> Args | None:  # noqa: C901 - one pass over argv
    """What argparse would make of `argv`, or None to leave it to argparse."""
    args = Args()
    flags: dict[str, Flag] = {}
    options: dict[str, Option] = {}
    required: list[Word] = []
    optional: list[Word] = []
    rest: Rest | None = None
    for item in table:
        if isinstance(item, Flag):
            flags.update(dict.fromkeys(item.names, item))
            setattr(args, item.dest, False)
        elif isinstance(item, Option):
            options.update(dict.fromkeys(item.names, item))
            setattr(args, item.dest, list(item.default) if item.repeat else item.default)
        elif isinstance(item, Word):
            (required if item.required else optional).append(item)
        else:
            rest = item
    words: list[str] = []
    pending: Option | None = None  # the option whose value is the next word
    for i, word in enumerate(argv):
        if pending is not None:
            if not _store(args, pending, word, attached=False):
                return None
            pending = None
        elif word in flags or word in options:
            if words and optional:
                return None  # argparse's own rules for options between optional words
            if word in flags:
                setattr(args, flags[word].dest, True)
            else:
                pending = options[word]
        elif word.startswith("--") and word.partition("=")[0] in options:
            name, _, value = word.partition("=")
            if (words and optional) or not _store(args, options[name], value, attached=True):
                return None
        elif not word or word[0] == "-":
            return None
        else:
            words.append(word)
            if rest is not None and len(words) == len(required):
                tail = argv[i + 1:]
                setattr(args, rest.dest, tail[1:] if tail[:1] == ["--"] else tail)
                break
    if pending is not None or not len(required) <= len(words) <= len(required) + len(optional):
        return None
    if rest is not None and not hasattr(args, rest.dest):
        return None  # the words are missing: argparse says which
    for item in optional:
        setattr(args, item.dest, item.default)
    for item, word in zip([*required, *optional], words, strict=False):
        setattr(args, item.dest, word)
    return args


def _store(args: Args, option: Option, word: str, attached: bool) -> bool:
    value = option.value(word, attached)
    if value is None:
        return False
    if option.repeat:
        getattr(args, option.dest).append(value)
    else:
        setattr(args, option.dest, value)
    return True
