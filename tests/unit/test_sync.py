"""process/sync.py: Channel.expect, the one check of each step of the exchange."""

import pytest

from pyocijail.errors import InitFailed, ProtocolError, PyocijailError
from pyocijail.process.sync import ERROR, ISOLATED, PID, READY, Channel


@pytest.fixture
def pair():
    ours, theirs = Channel.pair()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_expect_returns_the_awaited_message(pair):
    ours, theirs = pair
    theirs.send(PID, pid=42)
    assert ours.expect(PID) == {"t": PID, "pid": 42}


def test_expect_ready_ok(pair):
    ours, theirs = pair
    theirs.send(READY)
    assert ours.expect(READY)["t"] == READY


def test_expect_error_raises_its_msg(pair):
    ours, theirs = pair
    theirs.send(ERROR, msg='exec: "nope": executable file not found in $PATH')
    with pytest.raises(InitFailed) as info:
        ours.expect(READY)
    assert str(info.value) == 'exec: "nope": executable file not found in $PATH'
    assert info.value.stage == READY
    assert isinstance(info.value, PyocijailError)  # what cli and callers catch


def test_expect_eof_says_the_init_exited(pair):
    ours, theirs = pair
    theirs.close()
    with pytest.raises(InitFailed, match=r"^container init exited before it was ready$") as info:
        ours.expect(ISOLATED)
    assert info.value.stage == ISOLATED


def test_expect_eof_uses_explain(pair):
    ours, theirs = pair
    theirs.close()
    with pytest.raises(InitFailed, match=r"^OOM killed$"):
        ours.expect(READY, lambda: "OOM killed")


def test_expect_eof_falls_back_when_explain_knows_nothing(pair):
    ours, theirs = pair
    theirs.close()
    with pytest.raises(InitFailed, match=r"^container init exited before it was ready$"):
        ours.expect(READY, lambda: None)


def test_expect_unexpected_kind_is_a_protocol_error(pair):
    ours, theirs = pair
    theirs.send(ISOLATED)
    with pytest.raises(ProtocolError, match=r"^container init: unexpected message 'isolated'$"):
        ours.expect(READY)
