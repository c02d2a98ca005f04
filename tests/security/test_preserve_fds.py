"""`--preserve-fds N` (finding 6, attack 2d).

Every fd 3..3+N-1 must be the caller's: with holes the runtime's own fds (the
host's pid namespace, the log, sync sockets) filled them and reached the
container. The callers here are a /bin/sh that opens exactly the fds it is
told to, then execs the runtime, so the test process's own fds play no part.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess

import pytest

from pyocijail.testing.clients.driver import Result, reap

pytestmark = [pytest.mark.root, pytest.mark.busybox]

GUARD = 60
def _call(runtime, workdir: str, fds: dict[int, str], *args: str) -> Result:
    """The runtime started by a caller holding 0-2 and exactly `fds` (fd -> file)."""
    redirect = " ".join(f"{fd}<'{path}'" for fd, path in sorted(fds.items()))
    argv = ["/bin/sh", "-c", f'exec "$@" {redirect}', "sh", *runtime.argv(*args)]
    out_path, err_path = os.path.join(workdir, "out"), os.path.join(workdir, "err")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                              env=runtime.env, timeout=GUARD, check=False)
    with open(out_path) as out, open(err_path) as err:
        return Result(proc.returncode, out.read(), err.read())


def _files(workdir: str, fds: list[int]) -> dict[int, str]:
    found = {}
    for fd in fds:
        path = os.path.join(workdir, f"given-{fd}")
        with open(path, "w") as f:
            f.write(f"fd {fd}\n")
        found[fd] = path
    return found


def _identity(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_dev} {st.st_ino}"


@pytest.mark.parametrize("given", [[], [3, 5], [3, 4]], ids=["none", "hole", "short"])
@pytest.mark.parametrize("command", ["create", "run"])
def test_missing_preserved_fds_are_refused(runtime, bundle, workdir, command, given):
    """--preserve-fds 3 with fds missing in 3..5: exit 1, one line, one JSON log
    object, nothing left; 2d's shape (only 0-2 held) included."""
    b = bundle(["true"])
    log = os.path.join(workdir, "log.json")
    res = _call(runtime, workdir, _files(workdir, given), "--log", log, "--log-format",
                "json", command, "--preserve-fds", "3", "--bundle", b, "c1")
    missing = min(fd for fd in (3, 4, 5) if fd not in given)
    assert res.code == 1, res
    assert res.err.count("\n") == 1
    assert f"unable to stat preserved-fd {missing - 3} (of 3): fd {missing}:" in res.err
    with open(log) as f:
        (entry,) = [json.loads(line) for line in f.read().splitlines()]
    assert "unable to stat preserved-fd" in entry["msg"]
    assert runtime.ids() == []


def test_a_runtime_fd_in_the_range_counts_as_missing(runtime, bundle, workdir):
    """With --log-level debug the runtime opens its log first: it takes the caller's
    hole at fd 3 and must not pass for a preserved fd."""
    b = bundle(["true"])
    res = _call(runtime, workdir, {}, "--log", os.path.join(workdir, "debug.log"),
                "--log-level", "debug", "create", "--preserve-fds", "1", "--bundle", b, "c1")
    assert res.code == 1, res
    assert "unable to stat preserved-fd 0 (of 1): fd 3: not passed by the caller" in res.err
    assert runtime.ids() == []


def _held(pid: int) -> dict[int, str]:
    """What the container's process holds, seen from the host: fd -> "dev inode"."""
    fds = f"/proc/{pid}/fd"
    return {int(n): _identity(os.path.join(fds, n)) for n in os.listdir(fds)}


def test_create_hands_over_exactly_the_callers_fds(runtime, bundle, workdir):
    """A caller with 3 real fds: the container's program holds 0-2 and those 3, each
    the caller's file (same device and inode), nothing of the runtime's."""
    b = bundle(["sleep", "30"])
    given = _files(workdir, [3, 4, 5])
    pid_file = os.path.join(workdir, "pid")
    res = _call(runtime, workdir, given, "--log-level", "debug", "create",
                "--preserve-fds", "3", "--pid-file", pid_file, "--bundle", b, "c1")
    assert res.code == 0, res
    pid = int(open(pid_file).read())
    runtime.ok("start", "c1")  # returns once the program is exec'd
    try:
        held = _held(pid)
    finally:
        runtime.ok("delete", "--force", "c1")
        reap(pid)
    assert sorted(held) == [0, 1, 2, 3, 4, 5]
    assert {fd: held[fd] for fd in given} == {fd: _identity(p) for fd, p in given.items()}


@contextlib.contextmanager
def _running(runtime, bundle):
    """A running container `c1`, deleted (and its init reaped) afterwards."""
    runtime.ok("create", "--bundle", bundle(["sleep", "30"]), "c1")
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1")
    try:
        yield
    finally:
        runtime.ok("delete", "--force", "c1")
        reap(pid)


def test_exec_hands_over_exactly_the_callers_fds(runtime, bundle, workdir):
    given = _files(workdir, [3, 4])
    pid_file = os.path.join(workdir, "exec-pid")
    with _running(runtime, bundle):
        res = _call(runtime, workdir, given, "--log-level", "debug", "exec", "--detach",
                    "--pid-file", pid_file, "--preserve-fds", "2", "c1", "sleep", "30")
        assert res.code == 0, res
        held = _held(int(open(pid_file).read()))
    assert sorted(held) == [0, 1, 2, 3, 4]
    assert {fd: held[fd] for fd in given} == {fd: _identity(p) for fd, p in given.items()}


def test_exec_with_missing_preserved_fds_is_refused(runtime, bundle, workdir):
    with _running(runtime, bundle):
        res = _call(runtime, workdir, {}, "exec", "--preserve-fds", "20", "c1", "true")
    assert res.code == 1, res
    assert res.err.count("\n") == 1
    assert "unable to stat preserved-fd 0 (of 20): fd 3: bad file descriptor" in res.err
