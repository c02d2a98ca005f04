"""Real containers through the CLI: every status, the pid file, exit codes."""

from __future__ import annotations

import json
import os
import threading

import psutil
import pytest

from pyocijail.testing.clients.driver import read_pid, reap

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def test_run_prints_from_inside_the_container(runtime, bundle, workdir):
    """`run` executes the command in the busybox rootfs and returns its exit code."""
    b = bundle(["sh", "-c", "echo hello from $(hostname); exit 3"])
    res = runtime("run", "--bundle", b, "c1")
    assert res.code == 3, res
    assert res.out == "hello from pyocijail\n"
    assert runtime.ids() == []


def test_lifecycle_passes_through_every_status(runtime, bundle, workdir):
    """created → running → stopped → gone, with schema-valid state each time."""
    from pyocijail.spec import schema

    b = bundle(["sleep", "30"])
    pid_file = os.path.join(workdir, "pid")
    res = runtime.ok("create", "--bundle", b, "--pid-file", pid_file, "c1")
    assert (res.out, res.err) == ("", "")  # success is silent: it would land in the logs
    state = runtime.state("c1")
    schema.validate_state(state)
    assert state["status"] == "created"
    assert state["pid"] == read_pid(pid_file)
    assert state["bundle"] == b
    assert runtime.ok("start", "c1").out == ""
    assert runtime.status("c1") == "running"
    runtime.ok("kill", "c1", "KILL")
    assert reap(state["pid"]) == -9
    state = runtime.state("c1")
    schema.validate_state(state)
    assert state["status"] == "stopped"
    assert "pid" not in state
    runtime.ok("delete", "c1")
    res = runtime("state", "c1")
    assert res.code == 1 and 'container "c1" does not exist' in res.err


def test_pid_file_names_a_descendant_that_becomes_the_program(runtime, bundle, workdir):
    """The pid file is digits only, and that pid is the one that execs args."""
    b = bundle(["sleep", "30"])
    pid_file = os.path.join(workdir, "pid")
    runtime.ok("create", "--bundle", b, "--pid-file", pid_file, "c1")
    with open(pid_file) as f:
        text = f.read()
    assert text.isdigit() and not text.endswith("\n")
    pid = int(text)
    assert psutil.Process(pid).ppid() == os.getpid()  # reparented to us, the subreaper
    runtime.ok("start", "c1")
    assert psutil.Process(pid).cmdline() == ["sleep", "30"]
    runtime.ok("delete", "--force", "c1")
    reap(pid)


def test_start_twice_is_an_error(runtime, bundle):
    """start on a running container fails and changes nothing."""
    b = bundle(["sleep", "30"])
    runtime.ok("create", "--bundle", b, "c1")
    runtime.ok("start", "c1")
    res = runtime("start", "c1")
    assert res.code == 1 and "running" in res.err
    assert runtime.status("c1") == "running"


def test_create_waits_for_start(runtime, bundle, workdir):
    """The user program does not run before start."""
    marker = "/tmp/started"
    b = bundle(["sh", "-c", f"touch {marker}; sleep 30"])
    runtime.ok("create", "--bundle", b, "c1")
    rootfs = os.path.join(b, "rootfs")
    assert not os.path.exists(rootfs + marker)
    runtime.ok("start", "c1")
    assert os.path.exists(rootfs + marker)


def test_duplicate_id_is_refused(runtime, bundle):
    """A second create of one id fails and leaves the first container alone."""
    b = bundle(["sleep", "30"])
    runtime.ok("create", "--bundle", b, "c1")
    res = runtime("create", "--bundle", b, "c1")
    assert res.code == 1 and "already exists" in res.err
    assert runtime.status("c1") == "created"


def test_racing_creates_of_one_id_one_wins(runtime, bundle):
    """Of 8 concurrent creates of one id exactly one succeeds."""
    b = bundle(["sleep", "30"])
    results = []

    def go():
        results.append(runtime("create", "--bundle", b, "same"))

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.code for r in results) == [0] + [1] * 7
    assert runtime.status("same") == "created"


def test_delete_of_running_needs_force(runtime, bundle):
    """delete refuses a running container; delete --force kills and removes it."""
    b = bundle(["sleep", "30"])
    runtime.ok("create", "--bundle", b, "c1")
    runtime.ok("start", "c1")
    pid = runtime.state("c1")["pid"]
    res = runtime("delete", "c1")
    assert res.code == 1 and "not stopped" in res.err
    runtime.ok("delete", "--force", "c1")
    assert runtime.ids() == []
    reap(pid)
    assert not psutil.pid_exists(pid)


def test_delete_of_created_kills_it(runtime, bundle):
    """delete without --force removes a created container (runc, containerd)."""
    b = bundle(["sleep", "30"])
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    runtime.ok("delete", "c1")
    reap(pid)
    assert not psutil.pid_exists(pid)


def test_delete_force_of_unknown_id_succeeds(runtime):
    """delete --force of an unknown id exits 0; plain delete says it does not exist."""
    assert runtime("delete", "--force", "nope").code == 0
    res = runtime("delete", "nope")
    assert res.code == 1 and 'container "nope" does not exist' in res.err


@pytest.mark.parametrize("sig", ["9", "KILL", "SIGKILL", "sigkill", "Kill"])
def test_kill_accepts_every_signal_spelling(runtime, bundle, sig):
    """Numbers, names with and without SIG, any case."""
    b = bundle(["sleep", "30"])
    runtime.ok("run", "--detach", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    runtime.ok("kill", "c1", sig)
    assert reap(pid) == -9


def test_kill_default_is_term(runtime, bundle):
    """kill without a signal sends SIGTERM.

    Without a pid namespace: as pid 1 of its own namespace, `sleep` would
    ignore SIGTERM (the kernel drops signals init has no handler for).
    """
    b = bundle(["sleep", "30"], linux={"namespaces": [{"type": t} for t in
                                                      ("network", "ipc", "uts", "mount")]})
    runtime.ok("run", "--detach", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    runtime.ok("kill", "c1")
    assert reap(pid) == -15


def test_kill_of_stopped_container(runtime, bundle):
    """kill says "container not running"; kill --all exits 0 quietly."""
    b = bundle(["true"])
    runtime.ok("run", "--detach", "--bundle", b, "c1")
    reap(runtime.state("c1").get("pid", 0) or 0, timeout=1)
    runtime.wait_status("c1", "stopped")
    res = runtime("kill", "c1", "9")
    assert res.code == 1 and "container not running" in res.err
    res = runtime("kill", "--all", "c1", "9")
    assert res.code == 0 and res.err == ""


def test_kill_all_reaches_every_process(runtime, bundle):
    """kill --all signals the children of init too."""
    b = bundle(["sh", "-c", "trap '' TERM; sleep 100 & sleep 100 & wait"])
    runtime.ok("run", "--detach", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    runtime.wait_for = None
    ps = runtime.ok("ps", "--format", "json", "c1").json()
    for _ in range(100):
        if len(ps) >= 3:
            break
        ps = runtime.ok("ps", "--format", "json", "c1").json()
    assert len(ps) >= 3, ps
    runtime.ok("kill", "--all", "c1", "KILL")
    assert reap(pid) == -9
    for p in ps:
        assert not psutil.pid_exists(p) or psutil.Process(p).status() == psutil.STATUS_ZOMBIE


def test_state_reports_creating_while_create_runs(runtime, bundle, workdir):
    """While a createRuntime hook runs, state says "creating"."""
    hook = os.path.join(workdir, "slow-hook")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\nsleep 1\n")
    os.chmod(hook, 0o755)
    b = bundle(["sleep", "30"], hooks={"createRuntime": [{"path": hook}]})
    results = []
    t = threading.Thread(target=lambda: results.append(runtime("create", "--bundle", b, "c1")))
    t.start()
    seen = set()
    while t.is_alive():
        res = runtime("state", "c1")
        if res.code == 0:
            seen.add(res.json()["status"])
    t.join()
    assert results[0].code == 0
    assert "creating" in seen
    assert runtime.status("c1") == "created"


def test_bundle_edits_after_create_do_not_matter(runtime, bundle):
    """create keeps its own copy of the config."""
    b = bundle(["sh", "-c", "exit 7"])
    runtime.ok("create", "--bundle", b, "c1")
    with open(os.path.join(b, "config.json")) as f:
        doc = json.load(f)
    doc["process"]["args"] = ["sh", "-c", "exit 9"]
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(doc, f)
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1")
    assert reap(pid) == 7


def test_list_shows_containers(runtime, bundle):
    """list: a table, ids with -q, JSON with --format json."""
    b = bundle(["sleep", "30"])
    runtime.ok("create", "--bundle", b, "c1")
    runtime.ok("create", "--bundle", b, "c2")
    assert runtime.ok("list", "-q").out == "c1\nc2\n"
    rows = runtime.ok("list", "--format", "json").json()
    assert [(r["id"], r["status"]) for r in rows] == [("c1", "created"), ("c2", "created")]
    table = runtime.ok("list").out.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    assert len(table) == 3


def test_ps_of_a_stopped_container_is_empty(runtime, bundle):
    """runc lists no processes for a stopped container (exit 0): containerd's
    `ctr task ps` of an exited task showed an error instead of an empty table."""
    runtime.ok("run", "--detach", "--bundle", bundle(["true"]), "c1")
    runtime.wait_status("c1", "stopped")
    assert runtime.ok("ps", "--format", "json", "c1").json() == []
    assert runtime.ok("ps", "c1").out.splitlines()[0].split()[:2] == ["UID", "PID"]
    assert len(runtime.ok("ps", "c1").out.splitlines()) == 1  # the header alone
