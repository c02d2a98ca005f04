"""config.json and `exec --process` files that are not regular files (finding 9, 5d).

A FIFO blocked create forever (open, then read, both waiting for a writer), a
device never ends, a socket cannot be read. Each gets one clear error, fast:
the subprocess timeout is a guard against the hang, not a timing assertion.
"""

from __future__ import annotations

import json
import os
import socket

import pytest

from pyocijail.testing.clients.driver import reap

pytestmark = [pytest.mark.root, pytest.mark.busybox]

GUARD = 20  # seconds; a hang fails the test with TimeoutExpired


def _fifo(path: str) -> None:
    os.mkfifo(path, 0o600)


def _device(path: str) -> None:
    os.symlink("/dev/zero", path)


def _socket(path: str) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.close()  # the socket file stays


KINDS = {"a FIFO": _fifo, "a character device": _device, "a socket": _socket}


def _assert_one_error(res, log: str, kind: str, path: str) -> None:
    assert res.code == 1, res
    assert res.err.count("\n") == 1, res.err
    assert f"{path} is {kind}, not a regular file" in res.err
    with open(log) as f:
        entries = [json.loads(line) for line in f.read().splitlines()]
    assert len(entries) == 1 and entries[0]["level"] == "error"
    assert kind in entries[0]["msg"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["create", "run"])
def test_config_json_that_is_not_a_regular_file_is_refused(runtime, bundle, workdir,
                                                           command, kind):
    b = bundle(["true"])
    config = os.path.join(b, "config.json")
    os.unlink(config)
    KINDS[kind](config)
    log = os.path.join(workdir, "log.json")
    res = runtime(command, "--bundle", b, "c1", timeout=GUARD,
                  globals_=("--log", log, "--log-format", "json"))
    _assert_one_error(res, log, kind, config)
    assert runtime.ids() == []


@pytest.mark.parametrize("kind", KINDS)
def test_exec_process_file_that_is_not_a_regular_file_is_refused(runtime, bundle, workdir,
                                                                 kind):
    b = bundle(["sleep", "30"])
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1")
    process = os.path.join(workdir, "process.json")
    KINDS[kind](process)
    log = os.path.join(workdir, "log.json")
    res = runtime("exec", "--process", process, "c1", timeout=GUARD,
                  globals_=("--log", log, "--log-format", "json"))
    _assert_one_error(res, log, kind, process)
    assert runtime.status("c1") == "running"
    runtime.ok("delete", "--force", "c1")
    reap(pid)
