"""State roots, container folders and undo journals are trusted only when nobody
else could have written them (finding 7 and 8, attacks 7e and 7f).

Each test plants a decoy: a host process (`sleep`) that a fooled runtime would
SIGKILL. The decoy must live; every process and cgroup made here is removed.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest

from pyocijail.backends.linux import cgroups
from pyocijail.state import liveness
from pyocijail.state.record import Record
from pyocijail.testing.clients.driver import Runtime, reap

pytestmark = [pytest.mark.root, pytest.mark.busybox]

NOBODY = 65534


@pytest.fixture
def decoy():
    proc = subprocess.Popen(["sleep", "300"])
    try:
        deadline = time.monotonic() + 5
        while liveness.start_time(proc.pid) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _alive(proc: subprocess.Popen) -> bool:
    time.sleep(0.05)  # a SIGKILL sent has landed by now
    return proc.poll() is None


def _plant_state(folder: str, pid: int) -> None:
    """A running container whose init is `pid` (its real start time: liveness holds)."""
    os.makedirs(folder, mode=0o700)
    record = Record("c1", "/nonexistent", status="running", pid=pid,
                    start_time=liveness.start_time(pid), backend="linux",
                    backend_state={"namespaces": [], "cgroups": []})
    with open(os.path.join(folder, "state.json"), "w") as f:
        json.dump(record.to_json(), f)


COMMANDS = [("state", "c1"), ("start", "c1"), ("kill", "c1", "KILL"),
            ("kill", "--all", "c1", "KILL"), ("delete", "c1"), ("delete", "--force", "c1"),
            ("ps", "c1"), ("exec", "c1", "true"), ("pause", "c1"), ("resume", "c1"),
            ("update", "--pids-limit", "10", "c1"), ("list",)]


@pytest.mark.parametrize("shape", ["root-of-another-user", "root-writable-by-others",
                                   "folder-of-another-user", "folder-writable-by-others"])
def test_every_command_refuses_an_untrusted_root_or_folder(workdir, decoy, shape):
    """7e: a --root (or a container folder in it) another user owns or may write
    holds a state naming a root-owned decoy: every command exits 1 with one line
    saying why, and the decoy lives."""
    root = os.path.join(workdir, "root")
    os.mkdir(root, 0o700)
    folder = os.path.join(root, "c1")
    _plant_state(folder, decoy.pid)
    if shape == "root-of-another-user":
        os.chown(root, NOBODY, NOBODY)
        os.chown(folder, NOBODY, NOBODY)
        words = f"state root {root} is owned by uid {NOBODY}"
    elif shape == "root-writable-by-others":
        os.chmod(root, 0o777)
        words = f"state root {root} is writable by other users"
    elif shape == "folder-of-another-user":
        os.chown(folder, NOBODY, NOBODY)
        words = f'container "c1": folder {folder} is owned by uid {NOBODY}'
    else:
        os.chmod(folder, 0o777)
        words = f'container "c1": folder {folder} is writable by other users'
    runtime = Runtime(root)
    for command in COMMANDS:
        if command == ("list",) and shape.startswith("folder"):
            continue  # list names the folders; it reads no state it would act on
        res = runtime(*command, timeout=60)
        assert res.code == 1, (command, res)
        assert res.err.count("\n") == 1 and words in res.err, (command, res)
        assert _alive(decoy), command
    assert os.path.isfile(os.path.join(folder, "state.json"))


def _hierarchy() -> cgroups.Hierarchy:
    """A cgroup hierarchy a decoy can be put in: pids (v1) or the v2 one."""
    found = cgroups.hierarchies()
    for h in found:
        if (h.version == 2 and cgroups.layout(found) == "v2") or "pids" in h.controllers:
            return h
    pytest.skip("no pids or cgroup2 hierarchy")


@pytest.fixture
def foreign_cgroup(decoy):
    """A cgroup that is no container's, holding the decoy."""
    h = _hierarchy()
    path = f"{h.mountpoint}/pyocijail-test-decoy-{uuid.uuid4().hex[:12]}"
    os.mkdir(path)
    try:
        with open(f"{path}/cgroup.procs", "w") as f:
            f.write(str(decoy.pid))
        yield path
    finally:
        decoy.kill()
        decoy.wait()
        _empty_and_remove(path)


def _empty_and_remove(path: str) -> None:
    """rmdir the test's cgroup; after a failure a container of the test may still be
    in it: what is left there is the test's own, killed here."""
    deadline = time.monotonic() + 10
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            with open(f"{path}/cgroup.procs") as f:
                for word in f.read().split():
                    try:
                        os.kill(int(word), 9)
                    except ProcessLookupError:
                        pass
            time.sleep(0.02)


@pytest.mark.parametrize("state", ["no-state", "stopped-state"])
def test_a_journal_naming_a_foreign_cgroup_kills_nothing(runtime, workdir, decoy,
                                                         foreign_cgroup, state):
    """A journal line says create made a leaf cgroup that is really someone else's:
    delete --force leaves it and the decoy in it alone (it did SIGKILL every member)."""
    os.makedirs(runtime.root, mode=0o700, exist_ok=True)
    folder = os.path.join(runtime.root, "c1")
    if state == "no-state":
        os.mkdir(folder, 0o700)
    else:
        _plant_state(folder, 0)
    with open(os.path.join(folder, "undo.jsonl"), "w") as f:
        f.write(json.dumps({"cgroup": foreign_cgroup, "leaf": True}) + "\n")
    runtime.ok("delete", "--force", "c1")
    assert _alive(decoy)
    assert os.path.isdir(foreign_cgroup)
    assert not os.path.exists(folder)


def test_delete_force_with_a_shared_cgroups_path_kills_only_the_container(
        runtime, bundle, workdir, decoy, foreign_cgroup):
    """7f: cgroupsPath names an existing cgroup with a host process in it; the
    container has its own pid namespace. `kill --all` and `delete --force` end the
    container and leave the decoy (runc did; pyocijail killed the whole cgroup)."""
    h = _hierarchy()
    path = foreign_cgroup[len(h.mountpoint):]
    b = bundle(["sleep", "30"])
    doc = json.load(open(os.path.join(b, "config.json")))
    doc["linux"]["cgroupsPath"] = path
    json.dump(doc, open(os.path.join(b, "config.json"), "w"))
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1")
    with open(f"{foreign_cgroup}/cgroup.procs") as f:
        assert {decoy.pid, pid} <= {int(w) for w in f.read().split()}
    runtime.ok("kill", "--all", "c1", "TERM")
    assert _alive(decoy)
    runtime.ok("delete", "--force", "c1")
    reap(pid)
    assert _alive(decoy)
    assert runtime.ids() == []


def test_the_container_cgroup_is_marked_and_emptied_at_delete(runtime, bundle, workdir):
    """create marks the leaf cgroup it made with the container's state folder; delete
    of a container without its own pid namespace still kills what its init left in
    that cgroup (the mark is what allows it)."""
    b = bundle(["sh", "-c", "sleep 300 & echo $! > /tmp/orphan"])
    doc = json.load(open(os.path.join(b, "config.json")))
    doc["linux"]["namespaces"] = [n for n in doc["linux"]["namespaces"] if n["type"] != "pid"]
    json.dump(doc, open(os.path.join(b, "config.json"), "w"))
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    leaf = [g["dir"] for g in _recorded_cgroups(runtime)]
    runtime.ok("start", "c1")
    reap(pid)
    orphan = int(open(os.path.join(b, "rootfs", "tmp", "orphan")).read())
    try:
        for directory in leaf:
            assert os.getxattr(directory, "trusted.pyocijail.owner") == \
                os.path.join(runtime.root, "c1").encode()
        runtime.ok("delete", "c1")
        assert reap(orphan, timeout=5) is not None  # killed (and reaped by us)
    finally:
        try:
            os.kill(orphan, 9)
        except ProcessLookupError:
            pass
        reap(orphan, timeout=1)
    assert not any(os.path.exists(d) for d in leaf)


def _recorded_cgroups(runtime: Runtime) -> list[dict]:
    with open(os.path.join(runtime.root, "c1", "state.json")) as f:
        return json.load(f)["org.pyocijail"]["backendState"]["cgroups"]


def test_processes_in_a_nested_pid_namespace_are_the_containers(runtime, bundle, workdir):
    """Filtering by the init's pid namespace keeps a container in the container: `ps`
    lists the process in the nested namespace and `kill --all` reaches it."""
    caps = ["CAP_SYS_ADMIN", "CAP_KILL"]
    b = bundle(["sh", "-c", "busybox unshare -p -f sleep 300 & wait"],
               process={"capabilities": {k: caps for k in ("bounding", "effective",
                                                           "permitted")}})
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1")
    deadline = time.monotonic() + 10
    while True:
        listed = runtime.ok("ps", "--format", "json", "c1").json()
        nested = [p for p in listed if _nspid_depth(p) == 3]
        if nested or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert nested, listed  # host pid, container pid, nested pid
    runtime.ok("kill", "--all", "c1", "KILL")
    assert reap(pid) is not None
    runtime.ok("delete", "c1")


def _nspid_depth(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return len(line.split()) - 1
    except OSError:
        pass
    return 0
