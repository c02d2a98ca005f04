"""The hot commands' shortcuts give exactly what the slow, general paths give.

- `pyocijail.jsonlite` against `json` (loads, dumps, indent=2, compact);
- the hand parser of `state`/`start`/`kill`/`delete`/`list` against argparse;
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
from pyocijail.cli import _SIMPLE, _Parser, _simple_args
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
    module = importlib.import_module(f"pyocijail.cli.{ {'list': 'list_'}.get(command, command)}")
    parser = _Parser(prog=f"pyocijail {command}")
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
