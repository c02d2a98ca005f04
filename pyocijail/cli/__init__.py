# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The runc-style command line: global flags, then one subcommand, then the id.

`main` parses the global flags by hand (they always precede the command),
imports only the chosen command's module from `COMMANDS`, lets it parse the
rest with argparse, and turns any `PyocijailError` into exit 1 plus one log
line. Command modules define `add_arguments(parser)` and `run(args, ctx)`.
"""

import sys

from pyocijail import DEFAULT_ROOT, SPEC_VERSION, __version__
from pyocijail.errors import PyocijailError, UsageError
from pyocijail.log import LogSink, one_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.lifecycle.context import BackendFactory

    #: valued options of a command: flag -> (dest, choices, default)
    Options = dict[str, tuple[str, Any, Any]]
    #: a `_SIMPLE` command: (boolean flags, words, optional words, valued options)
    Simple = tuple[dict[str, str], tuple[str, ...], tuple[tuple[str, str], ...], Options]

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

#: Hot commands: a plain argv (known flags, then the right number of words)
#: skips argparse and the ~5 ms of imports it brings (gettext, locale, shutil);
#: anything else (help, unknown flags, wrong counts) still goes to argparse, so
#: help and error messages stay argparse's. command -> (boolean flags, words,
#: optional words with defaults, valued options: flag -> (dest, choices, default)).
#: choices is a tuple of allowed values, _ANY (any value not starting with "-")
#: or _INT (ASCII digits, stored as int). A list default makes the option
#: repeatable (argparse's action="append"). tests/unit/test_fastpath.py checks
#: every answer against argparse.
_ANY, _INT = "any", "int"
_CREATE_OPTIONS: "Options" = {
    "--bundle": ("bundle", _ANY, "."), "-b": ("bundle", _ANY, "."),
    "--pid-file": ("pid_file", _ANY, None), "--console-socket": ("console_socket", _ANY, None),
    "--preserve-fds": ("preserve_fds", _INT, 0)}
_CREATE_FLAGS = {"--no-pivot": "no_pivot", "--no-new-keyring": "no_new_keyring",
                 "--detach": "detach", "-d": "detach"}
_SIMPLE: "dict[str, Simple]" = {
    "create": (_CREATE_FLAGS, ("id",), (), _CREATE_OPTIONS),
    "run": ({**_CREATE_FLAGS, "--keep": "keep"}, ("id",), (), _CREATE_OPTIONS),
    "state": ({}, ("id",), (), {}),
    "start": ({}, ("id",), (), {}),
    "delete": ({"--force": "force", "-f": "force"}, ("id",), (), {}),
    "kill": ({"--all": "all", "-a": "all"}, ("id",), (("signal", "TERM"),), {}),
    "list": ({"--quiet": "quiet", "-q": "quiet"}, (), (),
             {"--format": ("format", ("table", "json"), "table"),
              "-f": ("format", ("table", "json"), "table")}),
    # exec [flags] ID [CMD ARGS...]: the same flags as cli/exec_.py's add_arguments.
    "exec": ({"--detach": "detach", "-d": "detach", "--tty": "tty", "-t": "tty"}, ("id",), (),
             {"--process": ("process", _ANY, None), "-p": ("process", _ANY, None),
              "--pid-file": ("pid_file", _ANY, None),
              "--console-socket": ("console_socket", _ANY, None),
              "--preserve-fds": ("preserve_fds", _INT, 0), "--cwd": ("cwd", _ANY, None),
              "--env": ("env", _ANY, []), "-e": ("env", _ANY, []),
              "--user": ("user", _ANY, None), "-u": ("user", _ANY, None),
              "--additional-gids": ("additional_gids", _INT, []),
              "-g": ("additional_gids", _INT, [])}),
}
#: command -> dest of argparse.REMAINDER after the words: everything after the
#: last word, options included, verbatim, except that one `--` right after the
#: id is dropped (argparse counts it with the id).
_REMAINDER = {"exec": "command"}

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
    descriptors go with the process.
    """
    if argv is not None:
        return _main(argv, backend)
    import atexit

    status: list[int] = []
    atexit.register(_leave, status)  # registered first: runs after any later hook
    code = _main(sys.argv[1:], backend)
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


def _main(argv: list[str], backend: "BackendFactory | None" = None) -> int:
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
        code = _run_command(opts, sink, backend)
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


def _run_command(opts: GlobalOptions, sink: LogSink,
                 backend: "BackendFactory | None" = None) -> int:
    from pyocijail.lifecycle.context import Context

    name = f"pyocijail.cli.{COMMANDS[opts.command]}"
    __import__(name)  # not importlib: its import is one more cost on every call
    module = sys.modules[name]
    ctx = Context(root=opts.root, log=sink, command=opts.command, backend_factory=backend)
    if getattr(module, "RAW", False):
        return int(module.run(opts.rest, ctx) or 0)
    simple = _simple_args(opts.command, opts.rest)
    if simple is not None:
        return int(module.run(simple, ctx) or 0)
    parser = _Parser(prog=f"pyocijail {opts.command}", command=opts.command,
                     description=(module.__doc__ or "").strip().splitlines()[0])
    module.add_arguments(parser, opts.command)
    args = parser.parse_args(opts.rest)
    return int(module.run(args, ctx) or 0)


class _Args:
    """What argparse's Namespace would hold for a `_SIMPLE` command line."""


def _simple_args(command: str, rest: list[str]) -> _Args | None:  # noqa: C901 - the fast parser's one pass over argv
    """The parsed `rest` of a hot command, or None to leave it to argparse."""
    spec = _SIMPLE.get(command)
    if spec is None:
        return None
    flags, required, optional, options = spec
    remainder = _REMAINDER.get(command)
    args = _Args()
    for dest in flags.values():
        setattr(args, dest, False)
    for dest, _, default in options.values():
        setattr(args, dest, list(default) if isinstance(default, list) else default)
    words: list[str] = []
    pending = None  # the valued option whose value comes next
    for i, word in enumerate(rest):
        if pending is not None:
            value = _option_value(pending[1], word)
            if value is None:
                return None
            _store(args, pending, value)
            pending = None
        elif word in flags:
            if words and optional:
                return None  # argparse's own rules for flags between optional words
            setattr(args, flags[word], True)
        elif word in options:
            pending = options[word]
        elif word.startswith("--") and word.partition("=")[0] in options:
            option = options[word.partition("=")[0]]
            value = _option_value(option[1], word.partition("=")[2], attached=True)
            if value is None:
                return None
            _store(args, option, value)
        elif not word or word[0] == "-":
            return None
        else:
            words.append(word)
            if remainder is not None and len(words) == len(required):
                tail = rest[i + 1:]
                setattr(args, remainder, tail[1:] if tail[:1] == ["--"] else tail)
                break
    if pending is not None:
        return None
    if remainder is not None and not hasattr(args, remainder):
        return None  # no id: argparse says what is missing
    names = required + tuple(n for n, _ in optional)
    if not len(required) <= len(words) <= len(names):
        return None
    for dest, default in optional:
        setattr(args, dest, default)
    for dest, word in zip(names, words, strict=False):  # optional words may be absent
        setattr(args, dest, word)
    return args


def _store(args: _Args, option: "tuple[str, Any, Any]", value: "Any") -> None:
    dest, _, default = option
    if isinstance(default, list):
        getattr(args, dest).append(value)
    else:
        setattr(args, dest, value)


def _option_value(choices: "Any", word: str, attached: bool = False) -> "Any":
    """The value argparse would store for `word`, or None to leave it to argparse."""
    if choices == _INT:
        return int(word) if word.isascii() and word.isdigit() else None
    if choices == _ANY:
        # argparse takes a separate word starting with "-" for a flag
        return word if attached or not word.startswith("-") else None
    return word if word in choices else None


class _Parser:
    """argparse, but usage errors become `UsageError` instead of SystemExit(2)."""

    def __new__(cls, command: str, **kwargs: object) -> object:
        import argparse

        class Parser(argparse.ArgumentParser):
            def error(self, message: str) -> None:  # type: ignore[override]
                raise UsageError(f"{command}: {message}")

        return Parser(allow_abbrev=False, **kwargs)  # type: ignore[arg-type]
