"""A state directory that lies, is broken, or outlived its container.

`state` must answer with a legal status or one clean line; `delete --force`
must still remove everything, including processes and jails the broken
state.json no longer names.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.reliability import harness

CORRUPTIONS = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "empty": lambda raw: b"",
    "garbage": lambda raw: b"\x00\xff garbage \xfe",
    "not utf-8": lambda raw: raw.replace(b'"', b'"\xff', 1),
    "an array": lambda raw: b"[1, 2, 3]",
    "no private part": lambda raw: json.dumps({"id": "x", "status": "created"}).encode(),
    "wrong types": lambda raw: _edit(raw, lambda d: d.update(pid="many", annotations="x")),
    "hooks not lists": lambda raw: _edit(raw, lambda d: d["org.pyocijail"].update(
        hooks={"poststop": "rm -rf /"})),
    "negative pid": lambda raw: _edit(raw, lambda d: d.update(pid=-1)),
    "pid 1": lambda raw: _edit(raw, lambda d: d.update(pid=1)),
    "missing": None,
}


def _edit(raw: bytes, fn) -> bytes:
    doc = json.loads(raw)
    fn(doc)
    return json.dumps(doc).encode()


def _init_pid(host: harness.Host) -> int:
    return int((host.work / f"{host.cid}.pid").read_text())


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_state_json(make_host, backend, corruption):
    host = make_host(backend)
    assert host.create(host.cid).code == 0
    pid = _init_pid(host)
    path = os.path.join(host.rt.root, host.cid, "state.json")
    with open(path, "rb") as f:
        raw = f.read()
    if CORRUPTIONS[corruption] is None:
        os.unlink(path)
    else:
        with open(path, "wb") as f:
            f.write(CORRUPTIONS[corruption](raw))
    res = host.cli("state", host.cid)
    if res.code == 0:  # still readable: must be a legal status and not claim pid 1 etc.
        state = res.json()
        assert state["status"] in harness.LEGAL and state.get("pid", 0) >= 0, state
    else:
        assert harness.one_clean_line(res), res
        assert "delete --force" in res.err, res
    res = host.cli("delete", host.cid)
    assert res.code == 0 or harness.one_clean_line(res), res
    res = host.cli("delete", "--force", host.cid)
    assert res.code == 0 and res.err == "", res
    assert not harness.alive(pid), f"delete --force left the init {pid} running"
    assert harness.alive(1)
    assert host.leaks() == []


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
def test_state_dir_whose_process_vanished(make_host, backend):
    host = make_host(backend)
    assert host.create(host.cid).code == 0
    host.ok("start", host.cid)
    pid = _init_pid(host)
    os.kill(pid, signal.SIGKILL)  # behind the runtime's back
    deadline = time.monotonic() + 10
    while harness.alive(pid):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    harness.reap_orphans()
    assert host.ok("state", host.cid).json()["status"] == "stopped"
    assert harness.one_clean_line(host.cli("start", host.cid))
    assert harness.one_clean_line(host.cli("exec", host.cid, "true"))
    assert host.cli("delete", host.cid).code == 0
    assert host.leaks() == []


def test_freebsd_jail_removed_behind_our_back(make_host):
    host = make_host("freebsd")
    assert host.create(host.cid).code == 0
    host.ok("start", host.cid)
    jid = next(iter(host.sim.snapshot()["jails"].values()))["jid"]
    host.sim.jail_remove(jid)
    deadline = time.monotonic() + 10
    while host.ok("state", host.cid).json()["status"] != "stopped":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert host.cli("delete", "--force", host.cid).code == 0
    assert host.leaks() == []


def test_state_dir_without_anything(make_host):
    host = make_host("linux")
    os.makedirs(os.path.join(host.rt.root, "empty"), mode=0o700)
    os.chmod(host.rt.root, 0o700)
    res = host.cli("state", "empty")
    assert harness.one_clean_line(res) and "delete --force" in res.err, res
    assert host.ok("list", "-q").out == ""
    assert host.cli("delete", "--force", "empty").code == 0
    assert host.state_dirs() == []
