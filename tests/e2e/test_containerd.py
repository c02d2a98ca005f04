"""containerd 1.6 (`ctr` + containerd-shim-runc-v2) driving pyocijail, end to end.

A private daemon per session (`pyocijail.testing.clients.containerd`), an image
imported from an OCI archive of the busybox rootfs, and `ctr run
--runc-binary <launcher>`: the runc shim then calls pyocijail exactly as it
calls runc (`--root <runc-root>/<namespace> --log <bundle>/log.json
--log-format json` before every subcommand).
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.e2e.terminal import Terminal
from tests.helpers import IMAGE, wait_for

pytestmark = [pytest.mark.containerd, pytest.mark.root]


def _task_status(ctrd, cid):
    for line in ctrd.ok("task", "ls").out.splitlines()[1:]:
        words = line.split()
        if words and words[0] == cid:
            return words[2]
    return None


def _run_detached(ctrd, cid, *cmd):
    ctrd.ok("run", "-d", *ctrd.run_flags(), IMAGE, cid, *cmd)
    wait_for(lambda: _task_status(ctrd, cid) == "RUNNING", what=f"{cid} running")


def _remove(ctrd, cid):
    ctrd.ctr("task", "kill", "-a", "-s", "SIGKILL", cid)
    wait_for(lambda: _task_status(ctrd, cid) in ("STOPPED", None), what=f"{cid} stopped")
    ctrd.ctr("task", "delete", cid)
    ctrd.ok("container", "delete", cid)


def test_run_rm_output_and_exit_code(containerd):
    """ctr run --rm: stdout, stderr, the exit code; the shim's call sequence."""
    res = containerd.ctr("run", "--rm", *containerd.run_flags(), IMAGE, "c1",
                         "sh", "-c", "echo hi from ctr; echo err >&2; exit 5")
    assert res.code == 5, res
    assert res.out == "hi from ctr\n" and "err" in res.err, res
    assert containerd.verbs("c1") == ["create", "start", "delete", "delete"]
    call = next(c for c in containerd.runtime_calls() if " create " in c)
    assert call.startswith(f"--root {containerd.runc_root}/") and "--log-format json" in call
    assert containerd.runtime_calls()[-1].endswith("delete --force c1")


def test_run_rm_missing_command(containerd):
    """A missing program fails the create with runc's words, from log.json."""
    res = containerd.ctr("run", "--rm", *containerd.run_flags(), IMAGE, "c2", "no-such-cmd")
    assert res.code != 0
    assert 'exec: "no-such-cmd": executable file not found in $PATH' in res.err, res
    containerd.ctr("container", "delete", "c2")


def test_run_with_a_tty(containerd):
    """ctr run -t on a real terminal: the pty comes through --console-socket."""
    term = Terminal(containerd.argv("run", "--rm", "-t", *containerd.run_flags(), IMAGE, "t1",
                                    "sh"), {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
                                            "TERM": "xterm"}, rows=33, cols=101)
    try:
        term.expect(r"/ # ")
        term.send("tty; echo typed-$((6*7))\r")
        term.expect(r"/dev/pts/\d+")
        term.expect(r"typed-42")
        # ctr sets the pty size after start, asynchronously (runc shows the same race:
        # an early `stty size` sees 0x0), so poll for it
        term.resize_and_check(33, 101)
        term.resize_and_check(20, 70)
        term.send("exit 9\r")
        assert term.wait() == 9
    finally:
        term.close()
    create = next(c for c in containerd.runtime_calls() if " create " in c and c.endswith(" t1"))
    assert "--console-socket" in create


def test_exec_ps_kill_delete(containerd):
    """Task exec (output, exit codes, tty), task ps, kill -s TERM/KILL, delete."""
    _run_detached(containerd, "d1", "sh", "-c",
                  "trap 'echo got-term > /tmp/term' TERM; while true; do sleep 0.1; done")

    res = containerd.ctr("task", "exec", "--exec-id", "e1", "d1", "sh", "-c",
                         "echo exec-out; exit 6")
    assert (res.code, res.out) == (6, "exec-out\n"), res
    res = containerd.ctr("task", "exec", "--exec-id", "e2", "d1", "no-such-cmd")
    assert res.code != 0 and "executable file not found" in res.err, res

    term = Terminal(containerd.argv("task", "exec", "-t", "--exec-id", "e3", "d1", "sh"),
                    {"PATH": "/usr/bin:/bin", "TERM": "xterm"}, rows=21, cols=77)
    try:
        term.expect(r"/ # ")
        term.send("tty\r")
        term.expect(r"/dev/pts/\d+")
        term.resize_and_check(21, 77)
        term.send("exit 2\r")
        assert term.wait() == 2
    finally:
        term.close()

    ps = containerd.ok("task", "ps", "d1")
    pids = [int(line.split()[0]) for line in ps.out.splitlines()[1:]]
    assert len(pids) >= 2, ps.out  # sh and its sleep
    assert any("ps --format json d1" in c for c in containerd.runtime_calls())

    containerd.ok("task", "kill", "-s", "SIGTERM", "d1")
    wait_for(lambda: containerd.ctr("task", "exec", "--exec-id", "e4", "d1", "cat",
                                     "/tmp/term").out == "got-term\n", what="the TERM trap")
    assert _task_status(containerd, "d1") == "RUNNING"
    # a non-root exec reopens its stdio by path: the shim's pipes must be its own
    res = containerd.ctr("task", "exec", "--user", "65534", "--exec-id", "e5", "d1", "sh", "-c",
                         "echo as-nobody > /dev/stdout; cat /dev/stdin", input="in\n")
    assert (res.code, res.out) == (0, "as-nobody\nin\n"), res
    containerd.ok("task", "kill", "-s", "SIGKILL", "d1")
    wait_for(lambda: _task_status(containerd, "d1") == "STOPPED", what="stopped")
    res = containerd.ok("task", "delete", "d1")
    assert "137" in res.out or res.out == "", res
    containerd.ok("container", "delete", "d1")
    kills = [c.split()[-2:] for c in containerd.runtime_calls() if " kill " in c]
    assert ["d1", "15"] in kills and ["d1", "9"] in kills


def test_pause_resume(containerd):
    """task pause/resume go through the runtime's pause/resume."""
    _run_detached(containerd, "p1", "sh", "-c",
                  "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done")
    containerd.ok("task", "pause", "p1")
    assert _task_status(containerd, "p1") == "PAUSED"
    containerd.ok("task", "resume", "p1")
    assert _task_status(containerd, "p1") == "RUNNING"

    def count():
        # the loop truncates and rewrites the file: an empty read is a race, read again
        while True:
            out = containerd.ok("task", "exec", "--exec-id", f"n{time.monotonic_ns()}", "p1",
                                "cat", "/tmp/n").out.strip()
            if out:
                return int(out)

    first = count()
    wait_for(lambda: count() > first, what="progress after resume")
    assert containerd.verbs("p1").count("pause") == 1
    _remove(containerd, "p1")



def test_delete_force_of_a_paused_task(containerd):
    """`task delete --force` of a paused task: the shim sends `kill --all 9` and
    waits for the exit, so the runtime must thaw (it hung forever before)."""
    _run_detached(containerd, "pf", "sleep", "100")
    containerd.ok("task", "pause", "pf")
    res = containerd.ctr("task", "delete", "--force", "pf", timeout=30)
    assert res.code == 0 and _task_status(containerd, "pf") is None, res
    containerd.ok("container", "delete", "pf")
    assert "kill --all pf 9" in " ".join(containerd.runtime_calls())

def test_metrics_and_checkpoint(containerd):
    """metrics works (the shim reads cgroups itself); checkpoint fails like an
    unsupported runtime, and the task keeps running."""
    _run_detached(containerd, "m1", "sleep", "100")
    res = containerd.ctr("task", "metrics", "m1")
    assert res.code == 0, res
    res = containerd.ctr("task", "checkpoint", "m1")
    assert res.code != 0
    assert "checkpoint is not supported" in res.err, res
    assert _task_status(containerd, "m1") == "RUNNING"
    _remove(containerd, "m1")


def test_state_matches_runc_shape(containerd):
    """`state` through the launcher, on the shim's root, has runc's fields."""
    import subprocess

    _run_detached(containerd, "s1", "sleep", "100")
    root = f"{containerd.runc_root}/pyocijail-e2e"
    out = subprocess.run([containerd.launcher, "--root", root, "state", "s1"],
                         capture_output=True, text=True, check=True).stdout
    state = json.loads(out)
    assert state["status"] == "running" and state["id"] == "s1"
    assert re.match(r"/.+/s1$", state["bundle"])
    assert state["pid"] > 0
    _remove(containerd, "s1")
