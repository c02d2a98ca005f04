"""The hot commands' shortcuts give exactly what the slow, general paths give.

- `pyocijail.jsonlite` against `json` (loads, dumps, indent=2, compact);
- the `Status` singletons against the enum they replace.

(The hand parser of the commands' options against argparse: tests/unit/test_options.py.)
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyocijail import jsonlite

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


def test_status_behaves_like_the_enum_it_replaces():
    from pyocijail.state.status import Status

    assert [s.value for s in Status] == ["creating", "created", "running", "paused", "stopped"]
    assert Status.RUNNING is Status.RUNNING and Status.RUNNING != Status.PAUSED
    assert repr(Status.PAUSED) == "<Status.PAUSED: 'paused'>"
    assert len({*Status, *Status}) == 5
