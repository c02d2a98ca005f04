"""State: ids, signals, the status table, the store's locking and atomic writes, liveness."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

import pytest

from pyocijail.errors import (
    ContainerExists,
    ContainerNotFound,
    InvalidId,
    InvalidStatus,
    PyocijailError,
    UsageError,
)
from pyocijail.process.signals import parse_signal
from pyocijail.state import liveness
from pyocijail.state.ids import check_id
from pyocijail.state.record import Record
from pyocijail.state.status import ALLOWED, Status, check, compute
from pyocijail.state.store import Store
from pyocijail.state.undo import UndoFile


@pytest.mark.parametrize("good", ["a", "abc-123_x+y", "0" * 200, "libpod-abc", "my.app",
                                  "_x", "a..b", "+a", "a."])
def test_good_ids(good):
    """runc's characters, dots and a leading '_' included (`ctr run ... my.app`)."""
    assert check_id(good) == good


@pytest.mark.parametrize("bad", ["", ".", "..", ".x", "a/b", "../etc", "-a", "a\0b",
                                 "x" * 201, "é", "a b", "a\n"])
def test_bad_ids(bad):
    """Anything that could be a path, the state root's own dot-entries or an option."""
    with pytest.raises(InvalidId):
        check_id(bad)


@pytest.mark.parametrize(("text", "num"), [("9", 9), ("KILL", 9), ("SIGKILL", 9),
                                           ("sigkill", 9), ("term", 15), ("SIGUSR1",
                                                                          signal.SIGUSR1)])
def test_signal_spellings(text, num):
    assert parse_signal(text) == num


@pytest.mark.parametrize("bad", ["0", "999", "SIGNOPE", "", "-9", "9x"])
def test_bad_signals(bad):
    with pytest.raises(UsageError):
        parse_signal(bad)


@pytest.mark.parametrize(("platform", "nsig", "good", "bad"), [
    ("linux", 65, [34, 64], [65]),
    # FreeBSD: Python's NSIG is _SIG_MAXSIG (128), itself a valid signal; 34..64 are
    # unassigned numbers kern_kill still accepts (F20).
    ("freebsd14", 128, [34, 64, 65, 126, 128], [129]),
])
def test_signal_number_range_per_platform(monkeypatch, platform, nsig, good, bad):
    import sys

    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(signal, "NSIG", nsig)
    for num in good:
        assert parse_signal(str(num)) == num
    for num in bad:
        with pytest.raises(UsageError):
            parse_signal(str(num))


@pytest.mark.parametrize("op", sorted(ALLOWED))
@pytest.mark.parametrize("status", list(Status))
def test_every_operation_status_pair(op, status):
    """Each (operation, status) pair is allowed exactly as the table says (runc's rules)."""
    if status in ALLOWED[op]:
        check(op, status)
    else:
        with pytest.raises(InvalidStatus) as err:
            check(op, status)
        assert err.value.op == op and err.value.status == status.value


def test_kill_of_stopped_uses_containerds_words():
    with pytest.raises(InvalidStatus, match="container not running"):
        check("kill", Status.STOPPED)


def test_create_is_exclusive(tmp_path):
    """Of many racing creates of one id exactly one wins."""
    store = Store(str(tmp_path / "root"))
    wins, losses = [], []

    def go():
        try:
            wins.append(store.create("c1"))
        except ContainerExists:
            losses.append(1)

    threads = [threading.Thread(target=go) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 19


def test_root_is_private(tmp_path):
    """The state root is created 0700; a world-writable one is refused."""
    store = Store(str(tmp_path / "root"))
    store.ensure_root()
    assert os.stat(store.root).st_mode & 0o777 == 0o700
    os.chmod(store.root, 0o777)
    with pytest.raises(PyocijailError, match="writable by other users"):
        store.ensure_root()


def test_state_write_is_atomic_and_readable(tmp_path):
    store = Store(str(tmp_path / "root"))
    cdir = store.create("c1")
    cdir.write(Record("c1", "/b", status="created", pid=5, start_time="1"))
    assert not [n for n in os.listdir(cdir.path) if ".tmp" in n]
    rec = store.open("c1", lock=False).read()
    assert (rec.id, rec.status, rec.pid, rec.bundle) == ("c1", "created", 5, "/b")


def test_corrupt_state_is_a_clear_error(tmp_path):
    store = Store(str(tmp_path / "root"))
    cdir = store.create("c1")
    with open(cdir.file("state.json"), "w") as f:
        f.write('{"id": "c1", "trunc')
    with pytest.raises(PyocijailError, match=r"corrupt.*delete --force"):
        store.open("c1", lock=False).read()


def test_lock_waiter_sees_removal(tmp_path):
    """A command waiting for the lock of a container being deleted gets "does not exist"."""
    store = Store(str(tmp_path / "root"))
    cdir = store.create("c1")
    result = []
    t = threading.Thread(target=lambda: result.append(_try_open(store)))
    t.start()
    t.join(0.2)
    cdir.remove()
    t.join()
    assert result == ["gone"]


def _try_open(store):
    try:
        store.open("c1")
    except ContainerNotFound:
        return "gone"
    return "opened"


def test_creating_is_reported_only_while_locked(tmp_path):
    """A "creating" record with its lock held is creating; abandoned, it is stopped."""
    store = Store(str(tmp_path / "root"))
    cdir = store.create("c1")
    cdir.write(Record("c1", "/b"))
    viewer = store.open("c1", lock=False)
    assert compute(viewer.read(), viewer) is Status.CREATING
    cdir.unlock()
    assert compute(viewer.read(), viewer) is Status.STOPPED


def test_liveness_rejects_zombies_and_reused_pids():
    """A zombie is not alive; a different start time is not our process."""
    proc = subprocess.Popen(["sleep", "30"])
    token = liveness.start_time(proc.pid)
    assert liveness.alive(proc.pid, token)
    assert not liveness.alive(proc.pid, "12345")
    proc.kill()
    import time

    deadline = time.monotonic() + 5
    while liveness.alive(proc.pid, token) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not liveness.alive(proc.pid, token)  # a zombie until we wait
    proc.wait()
    assert liveness.start_time(proc.pid) is None


def test_undo_journal_survives_a_torn_line(tmp_path):
    undo = UndoFile(str(tmp_path / "undo"))
    undo.append({"op": "a"})
    undo.append({"op": "b"})
    with open(undo.path, "a") as f:
        f.write('{"op": "c"')  # a crash mid-write
    assert [e["op"] for e in undo.entries()] == ["a", "b"]


def test_state_never_has_negative_pid_and_stopped_has_none():
    rec = Record("c1", "/b", status="created", pid=42)
    assert rec.oci_state("running")["pid"] == 42
    assert "pid" not in rec.oci_state("stopped")
