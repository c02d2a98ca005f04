"""`ps`: runc's table (the host's ps rows of the container's processes) and the JSON pids."""

from __future__ import annotations

import subprocess
import time

import pytest

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def _three_processes(runtime, bundle):
    b = bundle(["sh", "-c", "sleep 30 & sleep 31 & wait"])
    runtime.ok("run", "--detach", "--bundle", b, "c1")
    deadline = time.monotonic() + 5
    while len(pids := runtime.ok("ps", "--format", "json", "c1").json()) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return pids


def test_ps_prints_ps_ef_rows_of_the_containers_processes(runtime, bundle):
    """Default: `ps -ef`'s header and one row per container process, no host process;
    `--format json` (containerd's) stays the list of pids."""
    outside = subprocess.Popen(["sleep", "33"])
    try:
        pids = _three_processes(runtime, bundle)
        lines = runtime.ok("ps", "c1").out.splitlines()
    finally:
        outside.kill()
        outside.wait()
    assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    rows = [line.split() for line in lines[1:]]
    assert sorted(int(r[1]) for r in rows) == sorted(pids)
    assert all(isinstance(p, int) for p in pids)  # json: the pids, nothing else
    assert sorted(" ".join(r[7:]) for r in rows) == ["sh -c sleep 30 & sleep 31 & wait",
                                                    "sleep 30", "sleep 31"]
    assert str(outside.pid) not in {r[1] for r in rows}


def test_ps_passes_options_to_ps(runtime, bundle):
    """`ps ID -- -o pid,args` (and without `--`) runs ps with those options."""
    pids = _three_processes(runtime, bundle)
    for argv in (["ps", "c1", "--", "-o", "pid,args"], ["ps", "c1", "-o", "pid,args"]):
        lines = runtime.ok(*argv).out.splitlines()
        assert lines[0].split() == ["PID", "COMMAND"]
        assert sorted(int(line.split()[0]) for line in lines[1:]) == sorted(pids)
    res = runtime("ps", "c1", "--", "-o", "comm")
    assert res.code == 1 and "no PID column" in res.err and res.err.count("\n") == 1

