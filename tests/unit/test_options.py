"""Every command's `OPTIONS` table: the hand parser and argparse, both built from it, agree.

For each command the words of a battery are generated from its own table (every
option name, `--name=VALUE`, values argparse accepts and refuses, words, `--`,
clusters of short flags), so an option added to a table is in the battery at once.
Where `fast_parse` answers, argparse must give the same values; where clients' plain
forms are concerned, `fast_parse` must answer.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyocijail.cli import COMMANDS, ID, Args, Flag, Option, Rest, Word, fast_parse, parse
from pyocijail.cli.options import argparse_parser
from pyocijail.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.cli import Table


def _module(command: str):
    return importlib.import_module(f"pyocijail.cli.{COMMANDS[command]}")


#: every command that parses its words by a table (help and the unsupported ones are RAW)
TABLES = {c: _module(c).OPTIONS for c in COMMANDS if not getattr(_module(c), "RAW", False)}


def _argparse(command: str, table: Table, rest: list[str]) -> dict | None:
    try:
        return vars(argparse_parser(command, table, "").parse_args(rest, namespace=Args()))
    except (UsageError, SystemExit):
        return None


def _values(option: Option) -> list[str]:
    """Values argparse takes for `option`, and ones it refuses or reads otherwise."""
    if option.choices is not None:
        return [*option.choices, "x", ""]
    if option.type is int:
        return ["3", "0", "x", "-1", "\u0663", " 4", ""]
    if option.type is str:
        return ["/p", "A=1", "-x", "", "-"]
    return ["5s", "100ms", "x", ""]


def _words(table: Table) -> list[str]:
    words = ["c1", "c2", "TERM", "9", "sh", "-c", "--", "-h", "--help", "", "-", "--bogus"]
    shorts = []
    for item in table:
        if isinstance(item, Flag | Option):
            words += item.names
            shorts += [n for n in item.names if len(n) == 2]
            words += [f"{n}=1" for n in item.names if n.startswith("--")]
        if isinstance(item, Option):
            words += _values(item)
            for name in item.names:
                sep = "=" if name.startswith("--") else ""
                words += [f"{name}{sep}{v}" for v in _values(item)]
    words += [a + b[1:] for a in shorts for b in shorts]  # -dt, -qf: clusters
    return sorted(set(words))


def _batteries():
    return st.sampled_from(sorted(TABLES)).flatmap(
        lambda c: st.tuples(st.just(c), st.lists(st.sampled_from(_words(TABLES[c])),
                                                 max_size=7),
                            st.integers(0, 7)))


@settings(max_examples=4000, deadline=None)
@given(_batteries())
def test_fast_parse_agrees_with_argparse(case):
    """Wherever the hand parser answers, argparse gives the same values; each line is
    tried as drawn and with an id at a drawn place (what clients send most)."""
    command, rest, at = case
    table = TABLES[command]
    for argv in (rest, [*rest[:at], "c1", *rest[at:]]):
        fast = fast_parse(table, argv)
        if fast is not None:
            assert vars(fast) == _argparse(command, table, argv), (command, argv)


def _uses(table: Table) -> list[list[str]]:
    """One plain command line per flag and option of `table` (with the words it needs);
    not for an option with a converter of its own (events' --interval): its values and
    messages are argparse's."""
    words = [("c1" if item is ID else "w") for item in table
             if isinstance(item, Word) and item.required]
    lines = []
    for item in table:
        if isinstance(item, Flag):
            lines += [[name, *words] for name in item.names]
        elif isinstance(item, Option) and item.type in (str, int):
            value = next(v for v in _values(item) if item.value(v, attached=False) is not None)
            lines += [[name, value, *words] for name in item.names]
            lines += [[f"{name}={value}", *words] for name in item.names
                      if name.startswith("--")]
    return lines or [words]


@pytest.mark.parametrize("command", sorted(TABLES))
def test_every_declared_option_takes_the_fast_path(command):
    """Each flag and option of a table, in its plain forms, is read by the hand parser,
    gets the value argparse gives, and is listed by `--help` unless hidden."""
    table = TABLES[command]
    for argv in _uses(table):
        fast = fast_parse(table, argv)
        assert fast is not None, argv
        assert vars(fast) == _argparse(command, table, argv), argv
    text = argparse_parser(command, table, "").format_help()
    for item in table:
        if isinstance(item, Flag | Option) and not getattr(item, "hidden", False):
            assert all(name in text for name in item.names), (command, item.names)


def test_an_option_added_to_a_table_is_in_both_parsers():
    """One declaration is all a new option needs."""
    table = (Flag("--new-flag", "-n", help="new"), Option("--new-value", type=int, default=7),
             Option("--many", repeat=True), ID, Word("extra", default="E"))
    argv = ["-n", "--new-value", "3", "--many=a", "--many", "b", "c1", "x"]
    want = {"new_flag": True, "new_value": 3, "many": ["a", "b"], "id": "c1", "extra": "x"}
    assert vars(fast_parse(table, argv)) == want
    assert _argparse("new", table, argv) == want
    default = {"new_flag": False, "new_value": 7, "many": [], "id": "c1", "extra": "E"}
    assert vars(fast_parse(table, ["c1"])) == default == _argparse("new", table, ["c1"])
    assert "--new-value" in argparse_parser("new", table, "").format_help()


@pytest.mark.parametrize("rest", [
    [], ["--detach"], ["-e"], ["--process", "p"], ["--cwd", "-x", "c1"], ["-dt", "c1", "x"],
    ["-eA=1", "c1", "x"], ["--", "c1", "x"], ["-h"], ["--bogus", "c1"], ["-g", "x", "c1"],
    ["--preserve-fds", "\u0663", "c1"]])
def test_exec_leaves_odd_forms_to_argparse(rest):
    """Usage errors, help, short-flag clusters, attached short values: argparse's job,
    so its messages and exit codes stay exactly what they were."""
    assert fast_parse(TABLES["exec"], rest) is None


def test_exec_usage_errors_are_argparses(tmp_path):
    """Through main(): missing id, bad int, unknown flag: exit 1, argparse's text, one line."""
    for rest, text in ((["exec"], "the following arguments are required: ID"),
                       (["exec", "--preserve-fds", "x", "c1"], "invalid int value: 'x'"),
                       (["exec", "--cwd", "-x", "c1"], "--cwd: expected one argument"),
                       (["exec", "--bogus", "c1", "sh"], "unrecognized arguments: --bogus")):
        res = subprocess.run([sys.executable, "-m", "pyocijail", "--root", str(tmp_path), *rest],
                             capture_output=True, text=True, check=False)
        assert res.returncode == 1 and text in res.stderr, (rest, res)
        assert res.stderr.startswith("pyocijail: exec: "), res.stderr
        assert res.stderr.count("\n") == 1, res.stderr


@pytest.mark.parametrize(("rest", "want"), [
    (["--pid-file", "/e", "--process", "/p", "--detach", "c1"],
     {"pid_file": "/e", "process": "/p", "detach": True, "id": "c1", "command": []}),
    (["--pid-file", "/e", "--process", "/p", "--detach", "--tty", "--console-socket", "/s",
      "c1"], {"tty": True, "console_socket": "/s", "id": "c1", "command": []}),
    (["--process", "/p", "--console-socket", "/s", "--detach", "--pid-file", "/e", "c1"],
     {"detach": True, "pid_file": "/e"}),
    (["--preserve-fds", "2", "--process=/p", "-d", "c1"], {"preserve_fds": 2}),
    (["c1", "sh", "-c", "echo -t --env=x"], {"command": ["sh", "-c", "echo -t --env=x"]}),
    (["-e", "A=1", "--env=B=2", "--cwd", "/", "-u", "1:2", "-g", "7", "-g", "8", "c1", "--",
      "ls", "--", "-l"], {"env": ["A=1", "B=2"], "cwd": "/", "user": "1:2",
                          "additional_gids": [7, 8], "command": ["ls", "--", "-l"]}),
    (["-t", "c1", "sh"], {"tty": True, "command": ["sh"]})])
def test_exec_forms_clients_and_people_use_take_the_fast_path(rest, want):
    """conmon's and containerd's exec, and a person's `exec [flags] ID CMD ARGS`."""
    fast = fast_parse(TABLES["exec"], rest)
    assert fast is not None
    got = vars(fast)
    assert {k: got[k] for k in want} == want
    assert got == _argparse("exec", TABLES["exec"], rest)


@pytest.mark.parametrize(("command", "rest"), [
    ("state", ["c1"]), ("start", ["c1"]), ("delete", ["--force", "c1"]), ("delete", ["c1", "-f"]),
    ("kill", ["c1"]), ("kill", ["c1", "9"]), ("kill", ["--all", "c1", "KILL"]),
    ("list", []), ("list", ["-q"]), ("list", ["--format", "json"]), ("list", ["-f", "table"]),
    ("create", ["--bundle", "/b", "--pid-file", "/p", "c1"]),
    ("create", ["--bundle", "/b", "--pid-file", "/p", "--console-socket", "/s", "c1"]),
    ("create", ["-b", "/b", "--no-pivot", "c1"]), ("run", ["--bundle", "/b", "c1"]),
    ("run", ["--detach", "--bundle", "/b", "--preserve-fds", "2", "c1"]),
    ("ps", ["c1", "--", "-o", "pid"]), ("pause", ["c1"]), ("update", ["--memory", "1M", "c1"])])
def test_what_clients_send_takes_the_fast_path(command, rest):
    assert fast_parse(TABLES[command], rest) is not None


def test_rest_keeps_everything_after_the_id_but_one_leading_dashdash():
    table = (ID, Rest("tail"))
    for argv, tail in ((["c1", "--", "-o", "pid"], ["-o", "pid"]), (["c1", "x", "--", "y"],
                       ["x", "--", "y"]), (["c1", "--"], []), (["c1", "--", "--"], ["--"])):
        assert vars(fast_parse(table, argv)) == {"id": "c1", "tail": tail}
        assert _argparse("t", table, argv) == {"id": "c1", "tail": tail}


def test_parse_sends_help_and_usage_errors_to_argparse(capsys):
    with pytest.raises(SystemExit) as exit_:
        parse("kill", TABLES["kill"], ["--help"], "Send a signal.\n\nmore")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: pyocijail kill [-h] [--all] ID [signal]")
    assert "Send a signal." in out
    with pytest.raises(UsageError, match=r"^kill: the following arguments are required: ID$"):
        parse("kill", TABLES["kill"], [], None)
