"""The hot commands' shortcuts give exactly what the slow, general paths give.

- `pyocijail.jsonlite` against `json` (loads, dumps, indent=2, compact);
- the hand parser of `state`/`start`/`kill`/`delete`/`list`/`create`/`run`/`exec`
  against argparse;
- the `Status` singletons against the enum they replace.
"""

from __future__ import annotations

import importlib
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyocijail import jsonlite
from pyocijail.cli import _SIMPLE, COMMANDS, _Parser, _simple_args
from pyocijail.errors import UsageError

_scalars = (st.none() | st.booleans() | st.integers() | st.text()
            | st.floats(allow_nan=False, allow_infinity=False))
json_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(), inner, max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_dumps_matches_json(value):
    assert jsonlite.dumps(value) == json.dumps(value)
    assert jsonlite.dumps(value, indent=2) == json.dumps(value, indent=2)
    assert jsonlite.dumps(value, compact=True) == json.dumps(value, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from(["", " ", "\n", " \t\r\n"]))
def test_loads_matches_json(value, pad):
    for text in (json.dumps(value), json.dumps(value, indent=2)):
        data = (pad + text + pad).encode()
        assert jsonlite.loads(data) == json.loads(data)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1: 2}, {"a": (1, 2)},
                                   {True: None}, [1.5e300, -0.0]])
def test_unusual_values_fall_back_to_json(value):
    for indent in (None, 2):
        got, want = jsonlite.dumps(value, indent=indent), json.dumps(value, indent=indent)
        assert got == want


@pytest.mark.parametrize("data", [b"", b"{", b"{} x", b"[1,]", b"\xff", b"nul", b"'a'",
                                  b'{"a": 1,}', b'"\x01"', b"\xef\xbb\xbf{}", b"NaN",
                                  "{}".encode("utf-16")])
def test_bad_or_odd_documents_behave_like_json(data):
    try:
        want = json.loads(data)
    except ValueError as err:
        with pytest.raises(type(err)):
            jsonlite.loads(data)
    else:
        got = jsonlite.loads(data)
        assert got == want or (isinstance(want, float) and math.isnan(want) and math.isnan(got))


_WORDS = ["c1", "9", "TERM", "--force", "-f", "--all", "-a", "--format", "json", "table",
          "--format=json", "--format=x", "-q", "--quiet", "--", "-h", "", "-9", "--forc",
          "--bundle", "-b", "/b", "--bundle=/x", "--bundle=", "--pid-file", "--pid-file=p",
          "--console-socket", "--preserve-fds", "3", "--preserve-fds=2", "--preserve-fds=x",
          "-1", "\u0663", "--no-pivot", "--no-new-keyring", "-d", "--detach", "--keep",
          "--detach=1", "-bx"]


def _argparse(command: str, rest: list[str]) -> dict | None:
    module = importlib.import_module(f"pyocijail.cli.{COMMANDS[command]}")
    parser = _Parser(prog=f"pyocijail {command}", command=command)
    module.add_arguments(parser, command)
    try:
        return vars(parser.parse_args(rest))
    except (UsageError, SystemExit):
        return None


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(sorted(_SIMPLE)), st.lists(st.sampled_from(_WORDS), max_size=6))
def test_simple_args_agree_with_argparse(command, rest):
    """Where the hand parser answers, argparse gives the same values."""
    fast = _simple_args(command, rest)
    if fast is not None:
        assert vars(fast) == _argparse(command, rest), (command, rest)


_EXEC_WORDS = ["c1", "sh", "-c", "true", "--", "-d", "--detach", "-t", "--tty", "-dt",
               "--process", "-p", "/p.json", "--process=/p", "--pid-file", "/pid",
               "--pid-file=", "--console-socket", "/s", "--preserve-fds", "2",
               "--preserve-fds=1", "--preserve-fds=x", "-1", "--cwd", "/", "--cwd=-x", "-e",
               "--env", "A=1", "--env=B=2", "-eA=1", "-e=A", "--env=", "-u", "--user", "1:2",
               "--user=0", "-g", "--additional-gids", "7", "-g7", "--additional-gids=8",
               "--additional-gids=x", "\u0663", "", "-", "-h",
               "--help", "--bogus", "--detach=1", "--tty=", "--envx"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_EXEC_WORDS), max_size=9))
def test_exec_args_agree_with_argparse(rest):
    """exec's hand parser (flags, repeated -e/-g, the id, then everything verbatim as
    the command) gives argparse's values wherever it answers; an answer with
    the id somewhere is what clients send most, so bias towards it too."""
    for argv in (rest, [*rest[:4], "c1", *rest[4:]]):
        fast = _simple_args("exec", argv)
        if fast is not None:
            assert vars(fast) == _argparse("exec", argv), argv


@pytest.mark.parametrize("rest", [
    [], ["--detach"], ["-e"], ["--process", "p"], ["--cwd", "-x", "c1"], ["-dt", "c1", "x"],
    ["-eA=1", "c1", "x"], ["--", "c1", "x"], ["-h"], ["--bogus", "c1"], ["-g", "x", "c1"],
    ["--preserve-fds", "\u0663", "c1"]])
def test_exec_leaves_odd_forms_to_argparse(rest):
    """Usage errors, help, short-flag clusters, attached short values: argparse's job,
    so its messages and exit codes stay exactly what they were."""
    assert _simple_args("exec", rest) is None


def test_exec_usage_errors_are_argparses(tmp_path):
    """Through main(): missing id, bad int, unknown flag: exit 1, argparse's text, one line."""
    import subprocess
    import sys

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
    fast = _simple_args("exec", rest)
    assert fast is not None
    got = vars(fast)
    assert {k: got[k] for k in want} == want
    assert got == _argparse("exec", rest)


@pytest.mark.parametrize(("command", "rest"), [
    ("state", ["c1"]), ("start", ["c1"]), ("delete", ["--force", "c1"]), ("delete", ["c1", "-f"]),
    ("kill", ["c1"]), ("kill", ["c1", "9"]), ("kill", ["--all", "c1", "KILL"]),
    ("list", []), ("list", ["-q"]), ("list", ["--format", "json"]), ("list", ["-f", "table"]),
    ("create", ["--bundle", "/b", "--pid-file", "/p", "c1"]),
    ("create", ["--bundle", "/b", "--pid-file", "/p", "--console-socket", "/s", "c1"]),
    ("create", ["-b", "/b", "--no-pivot", "c1"]), ("run", ["--bundle", "/b", "c1"]),
    ("run", ["--detach", "--bundle", "/b", "--preserve-fds", "2", "c1"])])
def test_what_clients_send_takes_the_fast_path(command, rest):
    assert _simple_args(command, rest) is not None


def test_status_behaves_like_the_enum_it_replaces():
    from pyocijail.state.status import Status

    assert [s.value for s in Status] == ["creating", "created", "running", "paused", "stopped"]
    assert Status.RUNNING is Status.RUNNING and Status.RUNNING != Status.PAUSED
    assert repr(Status.PAUSED) == "<Status.PAUSED: 'paused'>"
    assert len({*Status, *Status}) == 5
