"""Hooks: every stage at its time, full argv, exact env, state on stdin, timeouts, failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from pyocijail.testing.clients.driver import reap

pytestmark = [pytest.mark.root, pytest.mark.busybox]

STAGES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
          "poststop")


def _hook_script(path, body):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)
    return path


def test_every_stage_runs_in_order_with_state_on_stdin(runtime, bundle, workdir):
    """Six stages, in spec order, each gets the state JSON with the expected status."""
    log = os.path.join(workdir, "hooks.log")
    host_hook = _hook_script(os.path.join(workdir, "hook"),
                             f'echo "$1 $(cat)" >> {log}')
    hooks = {stage: [{"path": host_hook, "args": ["hook", stage]}] for stage in STAGES}
    # startContainer runs inside the container: its path is resolved there.
    hooks["startContainer"] = [{"path": "/bin/sh",
                                "args": ["sh", "-c", "cat > /tmp/start-state"]}]
    b = bundle(["sleep", "30"], hooks=hooks)
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1")
    runtime.ok("kill", "c1", "KILL")
    reap(pid)
    runtime.ok("delete", "c1")
    with open(log) as f:
        lines = [line.split(" ", 1) for line in f.read().splitlines()]
    assert [stage for stage, _ in lines] == ["prestart", "createRuntime", "createContainer",
                                             "poststart", "poststop"]
    states = {stage: json.loads(text) for stage, text in lines}
    assert states["prestart"]["status"] == "creating"
    assert states["createContainer"]["pid"] == pid
    assert states["poststart"]["status"] == "running"
    assert states["poststop"]["status"] == "stopped"
    assert all(s["id"] == "c1" and s["bundle"] == b for s in states.values())
    with open(os.path.join(b, "rootfs", "tmp", "start-state")) as f:
        assert json.load(f)["status"] == "created"


def test_hook_gets_exact_env_and_full_argv(runtime, bundle, workdir):
    """`args` is the whole argv (argv[0] included); `env` is the whole environment."""
    out = os.path.join(workdir, "out")
    hook = _hook_script(os.path.join(workdir, "hook"),
                        f'echo "$0|$1|$(env | sort | tr "\\n" ,)" > {out}')
    b = bundle(["true"], hooks={"createRuntime": [{"path": hook, "args": ["name0", "one"],
                                                   "env": ["A=b"]}]})
    runtime.ok("create", "--bundle", b, "c1")
    with open(out) as f:
        _argv0, arg1, env = f.read().strip().split("|")
    assert arg1 == "one"
    assert "A=b" in env.split(",") and "HOME=" not in env


def test_failing_create_hook_tears_everything_down(runtime, bundle, workdir):
    """A prestart hook exiting 1 fails create with its output, and nothing is left."""
    hook = _hook_script(os.path.join(workdir, "hook"), "echo broken-hook >&2; exit 1")
    b = bundle(["sleep", "30"], hooks={"prestart": [{"path": hook}]})
    res = runtime("create", "--bundle", b, "c1")
    assert res.code == 1
    assert "prestart hook" in res.err and "broken-hook" in res.err
    assert runtime.ids() == []


def test_hook_timeout_kills_it_and_fails(runtime, bundle, workdir):
    """A hook running past `timeout` is killed (with its children) and create fails."""
    marker = os.path.join(workdir, "child-survived")
    hook = _hook_script(os.path.join(workdir, "hook"),
                        f"(sleep 3; touch {marker}) & sleep 30")
    b = bundle(["true"], hooks={"createRuntime": [{"path": hook, "timeout": 1}]})
    res = runtime("create", "--bundle", b, "c1")
    assert res.code == 1 and "timed out" in res.err
    assert runtime.ids() == []
    import time

    time.sleep(3.5)
    assert not os.path.exists(marker)


def test_failing_poststop_hook_only_warns(runtime, bundle, workdir):
    """poststop failures do not fail delete."""
    hook = _hook_script(os.path.join(workdir, "hook"), "exit 3")
    b = bundle(["true"], hooks={"poststop": [{"path": hook}]})
    runtime.ok("create", "--bundle", b, "c1")
    res = runtime("delete", "c1")
    assert res.code == 0
    assert "poststop hook" in res.err
    assert runtime.ids() == []


def test_failing_poststart_hook_fails_start_and_stops(runtime, bundle, workdir):
    """poststart failure is fatal since v1.3.0: start fails and the container stops."""
    hook = _hook_script(os.path.join(workdir, "hook"), "exit 2")
    b = bundle(["sleep", "30"], hooks={"poststart": [{"path": hook}]})
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    res = runtime("start", "c1")
    assert res.code == 1 and "poststart hook" in res.err
    reap(pid)
    assert runtime.status("c1") == "stopped"


def test_init_killed_during_a_start_container_hook_fails_start(runtime, bundle, workdir):
    """EOF on the barrier alone is not success: the init dies before the program runs."""
    hooks = {"startContainer": [{"path": "/bin/sh",
                                 "args": ["sh", "-c", "touch /tmp/hook-running; sleep 30"]}]}
    b = bundle(["sleep", "30"], hooks=hooks)
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    start = subprocess.Popen(runtime.argv("start", "c1"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        marker = os.path.join(b, "rootfs", "tmp", "hook-running")
        deadline = time.monotonic() + 10
        while not os.path.exists(marker) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.path.exists(marker)
        os.kill(pid, signal.SIGKILL)
        _, err = start.communicate(timeout=10)
    finally:
        if start.poll() is None:
            start.kill()
            start.wait()
    assert start.returncode == 1
    assert f"container init process {pid} exited before it ran the program" in err
    reap(pid)
    assert runtime.status("c1") == "stopped"
    runtime.ok("delete", "c1")
    assert runtime.ids() == []


def test_an_init_from_before_the_executing_byte_still_starts(runtime, bundle, workdir):
    """A container created by a pyocijail whose init closed the barrier only by exec
    (no EXECUTING byte), started after an upgrade: its live init has exec'd."""
    import sys

    b = bundle(["sh", "-c", "echo ran > /tmp/ran; sleep 30"])
    old_create = ("import sys; from pyocijail.process import init; "
                  "init._announcement = lambda p: b''; "
                  "from pyocijail.cli import main; sys.exit(main(sys.argv[1:]))")
    with open(os.path.join(workdir, "create.err"), "w+") as err:  # not a pipe: the init keeps it
        res = subprocess.run([sys.executable, "-c", old_create, "--root", runtime.root,
                              "create", "--bundle", b, "c1"], env=runtime.env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                             timeout=60)
        err.seek(0)
        assert res.returncode == 0, err.read()
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1")
    marker = os.path.join(b, "rootfs", "tmp", "ran")
    deadline = time.monotonic() + 10
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.path.exists(marker) and runtime.status("c1") == "running"
    runtime.ok("kill", "c1", "KILL")
    reap(pid)
    runtime.ok("delete", "c1")


def _status_ids(pid: int) -> tuple[str, str]:
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
    return fields["Uid"].split()[0], fields["Gid"].split()[0]


def _wait_until_init_is(pid: int, ids: tuple[str, str]) -> None:
    """The waiting init changes user on its own time after create returns."""
    deadline = time.monotonic() + 10
    while _status_ids(pid) != ids and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _status_ids(pid) == ids


def test_without_start_container_hooks_the_init_waits_as_the_container_user(
        runtime, bundle, workdir):
    """runc's order: the user change is done while the init waits for start (so start
    waits only for the exec); the program then runs as that user."""
    b = bundle(["sh", "-c", "id -u > /tmp/uid"],
               process={"user": {"uid": 1000, "gid": 1000}})
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    _wait_until_init_is(pid, ("1000", "1000"))
    assert runtime.status("c1") == "created"
    runtime.ok("start", "c1")
    reap(pid)
    with open(os.path.join(b, "rootfs", "tmp", "uid")) as f:
        assert f.read().strip() == "1000"
    runtime.ok("delete", "c1")


def test_start_container_hooks_run_after_the_user_change(runtime, bundle, workdir):
    """With a startContainer hook too the init waits as the container's user, and the
    hook runs as that user, as runc (the hook is the image's file)."""
    hooks = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "id -u > /tmp/hook"]}]}
    b = bundle(["sh", "-c", "id -u > /tmp/uid"], hooks=hooks,
               process={"user": {"uid": 1000, "gid": 1000}})
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    _wait_until_init_is(pid, ("1000", "1000"))
    runtime.ok("start", "c1")
    reap(pid)
    for name in ("hook", "uid"):
        with open(os.path.join(b, "rootfs", "tmp", name)) as f:
            assert f.read().strip() == "1000"
    runtime.ok("delete", "c1")


def test_a_user_change_that_fails_while_waiting_fails_start(runtime, bundle, workdir):
    """An error in the early user change is kept for start, as it was after the barrier:
    create succeeds, start fails with the error and the program never runs."""
    # The kernel takes oom_score_adj in [-1000, 1000]; the schema and create do not check.
    b = bundle(["sh", "-c", "touch /tmp/ran"], process={"oomScoreAdj": 5000})
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    res = runtime("start", "c1")
    assert res.code == 1
    assert "oom_score_adj" in res.err
    reap(pid)
    assert not os.path.exists(os.path.join(b, "rootfs", "tmp", "ran"))
    assert runtime.status("c1") == "stopped"
    runtime.ok("delete", "c1")


def test_every_poststop_hook_runs_after_one_fails(runtime, bundle, workdir):
    """A failing poststop hook is a warning each; the hooks after it still run (c3)."""
    out = os.path.join(workdir, "ran")
    fail = _hook_script(os.path.join(workdir, "fail"), "echo first-broken >&2; exit 3")
    fail2 = _hook_script(os.path.join(workdir, "fail2"), "echo second-broken >&2; exit 4")
    record = _hook_script(os.path.join(workdir, "record"), f"echo ran >> {out}")
    b = bundle(["true"], hooks={"poststop": [{"path": fail}, {"path": record},
                                             {"path": fail2}, {"path": record}]})
    runtime.ok("create", "--bundle", b, "c1")
    res = runtime("delete", "--force", "c1")
    assert res.code == 0, res
    with open(out) as f:
        assert f.read().split() == ["ran", "ran"]
    warnings = [line for line in res.err.splitlines() if "warning" in line]
    assert len(warnings) == 2, res.err
    assert "first-broken" in warnings[0] and "second-broken" in warnings[1]


def test_runtime_hooks_run_in_the_bundle_directory(runtime, bundle, workdir):
    """prestart, createRuntime, poststart and poststop run with the bundle as cwd (runc),
    createContainer in the rootfs and startContainer in process.cwd, so a hook may
    use relative paths; the runtime itself is started elsewhere."""
    log = os.path.join(workdir, "cwd.log")
    hook = _hook_script(os.path.join(workdir, "hook"),
                        f'test -f config.json && echo "$1 $(pwd -P)" >> {log}')
    runtime_stages = ("prestart", "createRuntime", "poststart", "poststop")
    hooks = {stage: [{"path": hook, "args": ["hook", stage]}] for stage in runtime_stages}
    # the rootfs holds bin/busybox: a relative test proves the cwd
    in_rootfs = _hook_script(os.path.join(workdir, "in-rootfs"),
                             f'test -x bin/busybox && echo "createContainer $(pwd -P)" >> {log}')
    hooks["createContainer"] = [{"path": in_rootfs}]
    hooks["startContainer"] = [{"path": "/bin/sh",
                                "args": ["sh", "-c", "pwd > /tmp/start-cwd"]}]
    b = bundle(["sleep", "30"], hooks=hooks, process={"cwd": "/etc"})
    elsewhere = os.path.join(workdir, "elsewhere")
    os.mkdir(elsewhere)
    runtime.ok("create", "--bundle", b, "c1", cwd=elsewhere)
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1", cwd=elsewhere)
    runtime.ok("kill", "c1", "KILL", cwd=elsewhere)
    reap(pid)
    runtime.ok("delete", "c1", cwd=elsewhere)
    real = os.path.realpath(b)
    with open(log) as f:
        seen = dict(line.split(" ", 1) for line in f.read().splitlines())
    assert seen == {"prestart": real, "createRuntime": real, "poststart": real,
                    "poststop": real, "createContainer": os.path.join(real, "rootfs")}
    with open(os.path.join(b, "rootfs", "tmp", "start-cwd")) as f:
        assert f.read().strip() == "/etc"
