"""The container's cgroup: limits seen from inside, freezer, ps, update, kill --all, removal."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.integration.linux.cgroupfs import cgroup_leftovers, host_dir, make, read

pytestmark = [pytest.mark.root, pytest.mark.busybox, pytest.mark.cgroup_v1]

@pytest.fixture
def linux_section():
    from pyocijail.lifecycle.defaults import linux_config

    return linux_config(["true"])["linux"]


def parent_of(runtime):
    from pyocijail.backends.linux.cgroups import default_parent

    return default_parent(runtime.root)


def test_limits_are_visible_inside(runtime, bundle, cid, linux_section):
    """memory, pids, cpu and cpuset values in the container's own cgroup files."""
    res = {"memory": {"limit": 64 << 20, "reservation": 32 << 20, "swappiness": 10},
           "pids": {"limit": 123},
           "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}}
    b = make(bundle, ["sh", "-c", ("cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes "
                      "memory/memory.soft_limit_in_bytes memory/memory.swappiness pids/pids.max "
                      "cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us "
                      "cpuset/cpuset.cpus cpuset/cpuset.mems; grep -c . /proc/self/cgroup")],
             linux_section, res)
    out = runtime("run", "--bundle", b, cid)
    assert out.code == 0, out
    assert out.out.split() == [str(64 << 20), str(32 << 20), "10", "123", "512", "50000",
                               "100000", "0", "0", "10"]


def test_cgroup_mount_shows_only_the_container_and_is_read_only(runtime, bundle, cid,
                                                                linux_section):
    b = make(bundle, ["sh", "-c", ("ls /sys/fs/cgroup/memory | grep -c libpod_parent; "
                      "echo 1 > /sys/fs/cgroup/pids/pids.max; "
                      "grep ' /sys/fs/cgroup/memory ' /proc/self/mountinfo")], linux_section)
    out = runtime("run", "--bundle", b, cid)
    assert out.out.startswith("0\n"), out
    assert "Read-only file system" in out.err
    assert f"{parent_of(runtime)}/{cid} /sys/fs/cgroup/memory ro," in out.out


def test_device_rules_deny_by_default_and_allow_configured_devices(runtime, bundle, cid,
                                                                    linux_section):
    """deny-all + runc's defaults: /dev/null works; with CAP_MKNOD granted, a kvm node
    (10:232) can be made (runc's defaults allow mknod of any device) but not opened —
    refused by the device rules: opening kvm needs no capability. A linux.devices entry
    is created and allowed."""
    caps = ["CAP_MKNOD", "CAP_DAC_OVERRIDE"]
    b = make(bundle, ["sh", "-c", ("echo ok > /dev/null && echo null-ok; "
                      "busybox mknod /tmp/null2 c 1 3 && head -c0 /tmp/null2 && echo null2-ok; "
                      "busybox mknod /tmp/kvm c 10 232 && echo mknod-kvm-ok; "
                      "head -c0 /tmp/kvm && echo open-kvm-ok; "
                      "ls -l /dev/fuse; cat /sys/fs/cgroup/devices/devices.list")],
             linux_section, devices=[{"path": "/dev/fuse", "type": "c", "major": 10,
                                      "minor": 229, "fileMode": 438}],
             process={"capabilities": {k: caps for k in ("bounding", "effective",
                                                         "permitted")}})
    out = runtime("run", "--bundle", b, cid)
    assert "null-ok" in out.out, out
    assert "null2-ok" in out.out and "mknod-kvm-ok" in out.out, out
    assert "open-kvm-ok" not in out.out and "/tmp/kvm: Operation not permitted" in out.err
    assert "10, 229" in out.out
    rules = out.out.splitlines()
    assert "c 10:229 rwm" in rules and "c 1:3 rwm" in rules and "a *:* rwm" not in rules


def test_pause_and_resume_freeze_and_thaw(runtime, bundle, cid, linux_section):
    b = make(bundle, ["sh", "-c", "while :; do sleep 0.05; done"], linux_section)
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("start", cid)
    freezer = host_dir("freezer", cid)
    runtime.ok("pause", cid)
    assert runtime.status(cid) == "paused"
    assert read(f"{freezer}/freezer.state") == "FROZEN"
    pid = runtime.state(cid)["pid"]
    ticks = read(f"/proc/{pid}/stat").split()[13]
    time.sleep(0.2)
    assert read(f"/proc/{pid}/stat").split()[13] == ticks
    assert runtime("pause", cid).code != 0  # already paused
    runtime.ok("resume", cid)
    assert runtime.status(cid) == "running"
    assert read(f"{freezer}/freezer.state") == "THAWED"


def test_delete_force_of_a_paused_container(runtime, bundle, cid, linux_section):
    b = make(bundle, ["sleep", "30"], linux_section)
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("start", cid)
    runtime.ok("pause", cid)
    started = time.monotonic()
    runtime.ok("delete", "--force", cid)
    assert time.monotonic() - started < 5
    assert cgroup_leftovers(cid) == []



@pytest.mark.parametrize("kill", [["kill", "{cid}", "9"], ["kill", "--all", "{cid}", "KILL"]],
                         ids=["init", "all"])
def test_sigkill_ends_a_paused_container(runtime, bundle, cid, linux_section, kill):
    """A frozen (cgroup v1) task ignores SIGKILL until thawed: kill thaws, as runc
    does. containerd's `task delete --force` of a paused task waits for it forever
    otherwise. Another signal leaves the container paused."""
    b = make(bundle, ["sh", "-c", "trap '' TERM; sleep 30"], linux_section)
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("start", cid)
    runtime.ok("pause", cid)
    runtime.ok("kill", "--all", cid, "TERM")
    time.sleep(0.2)
    assert runtime.status(cid) == "paused"
    runtime.ok(*[w.format(cid=cid) for w in kill])
    runtime.wait_status(cid, "stopped", timeout=5)
    runtime.ok("delete", cid)

def test_ps_lists_every_process_of_the_cgroup(runtime, bundle, cid, linux_section):
    b = make(bundle, ["sh", "-c", "sleep 30 & sleep 30 & wait"], linux_section)
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("start", cid)
    deadline = time.monotonic() + 5
    while True:
        pids = runtime.ok("ps", "--format", "json", cid).json()
        if len(pids) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(pids) == 3 and runtime.state(cid)["pid"] in pids
    procs = set(read(f"{host_dir('pids', cid)}/cgroup.procs").split())
    assert procs == {str(p) for p in pids}


def test_exec_joins_the_cgroup(runtime, bundle, cid, linux_section):
    b = make(bundle, ["sleep", "30"], linux_section)
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("start", cid)
    out = runtime("exec", cid, "cat", "/proc/self/cgroup")
    assert out.code == 0, out
    lines = out.out.splitlines()
    assert len(lines) == 10
    assert all(line.endswith(f"{parent_of(runtime)}/{cid}") for line in lines)


def test_update_with_flags_and_resources_file(runtime, bundle, cid, linux_section, workdir):
    b = make(bundle, ["sleep", "30"], linux_section, {"memory": {"limit": 64 << 20},
                                                      "pids": {"limit": 100}})
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("update", "--memory", "32m", "--cpu-quota", "20000", "--pids-limit", "50", cid)
    assert read(f"{host_dir('memory', cid)}/memory.limit_in_bytes") == str(32 << 20)
    assert read(f"{host_dir('cpu', cid)}/cpu.cfs_quota_us") == "20000"
    assert read(f"{host_dir('pids', cid)}/pids.max") == "50"
    runtime.ok("start", cid)
    path = os.path.join(workdir, "res.json")
    with open(path, "w") as f:
        json.dump({"memory": {"limit": 128 << 20, "swap": 256 << 20}, "pids": {"limit": 0},
                   "cpu": {"shares": 256}}, f)
    runtime.ok("update", "--resources", path, cid)
    assert read(f"{host_dir('memory', cid)}/memory.limit_in_bytes") == str(128 << 20)
    assert read(f"{host_dir('memory', cid)}/memory.memsw.limit_in_bytes") == str(256 << 20)
    assert read(f"{host_dir('pids', cid)}/pids.max") == "max"
    assert read(f"{host_dir('cpu', cid)}/cpu.shares") == "256"
    bad = runtime("update", "--l3-cache-schema", "L3:0=f", cid)
    assert bad.code != 0 and "not supported" in bad.err


def test_kill_all_through_the_cgroup(runtime, bundle, cid, linux_section):
    """Processes that left the pid namespace's tree (double fork) still get the signal."""
    b = make(bundle, ["sh", "-c", "(sleep 30 &) ; sleep 30"], linux_section)
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("start", cid)
    time.sleep(0.2)
    runtime.ok("kill", "--all", cid, "9")
    deadline = time.monotonic() + 5
    while read(f"{host_dir('pids', cid)}/cgroup.procs") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert read(f"{host_dir('pids', cid)}/cgroup.procs") == ""


def test_delete_removes_the_cgroup_everywhere(runtime, bundle, cid, linux_section):
    b = make(bundle, ["sleep", "30"], linux_section, {"pids": {"limit": 10}})
    runtime.ok("create", "--bundle", b, cid)
    assert len(cgroup_leftovers(cid)) == 10  # 9 v1 hierarchies + unified
    runtime.ok("start", cid)
    runtime.ok("delete", "--force", cid)
    assert cgroup_leftovers(cid) == []


def test_cgroups_made_below_the_container_are_its_own(runtime, bundle, cid, linux_section):
    """A nested manager (systemd in the container) makes cgroups below the container's
    and moves processes there: ps lists them and delete removes that subtree, as runc's
    do; before, ps missed them and delete left every hierarchy's directory behind."""
    import glob

    b = make(bundle, ["sh", "-c", "sleep 30 & sleep 30 & wait"], linux_section)
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("start", cid)
    deadline = time.monotonic() + 5
    while len(pids := runtime.ok("ps", "--format", "json", cid).json()) < 3:
        assert time.monotonic() < deadline, pids
        time.sleep(0.02)
    moved = max(p for p in pids if p != runtime.state(cid)["pid"])
    for top in glob.glob(f"/sys/fs/cgroup/*/pyocijail-*/{cid}"):
        nested = f"{top}/nested-{cid}"  # named after the id: the cid fixture cleans it up
        os.mkdir(nested)
        for name in ("cpuset.cpus", "cpuset.mems"):  # an empty v1 cpuset takes no process
            if os.path.exists(f"{nested}/{name}"):
                with open(f"{nested}/{name}", "w") as f:
                    f.write(read(f"{top}/{name}"))
        with open(f"{nested}/cgroup.procs", "w") as f:
            f.write(str(moved))
        assert str(moved) not in read(f"{top}/cgroup.procs").split()
    assert moved in runtime.ok("ps", "--format", "json", cid).json()
    runtime.ok("delete", "--force", cid)
    assert cgroup_leftovers(cid) == []
    assert not os.path.exists(f"/proc/{moved}")


def test_systemd_style_cgroups_path(runtime, bundle, cid, linux_section):
    """slice:prefix:name → /<slice>/<prefix>-<name>.scope, removed with its slice."""
    b = make(bundle, ["cat", "/proc/self/cgroup"], linux_section,
             cgroupsPath=f"{cid}-sub.slice:pyo:{cid}")
    out = runtime("run", "--bundle", b, cid)
    assert out.code == 0, out
    assert out.out.splitlines()[0].endswith(f":/{cid}.slice/{cid}-sub.slice/pyo-{cid}.scope")
    assert cgroup_leftovers(f"{cid}.slice") == []


def test_failed_create_leaves_no_cgroup(runtime, bundle, cid, linux_section):
    """blkio.weight does not exist on this kernel (no BFQ/CFQ weight): create fails,
    naming the file, and the cgroup it had made is gone."""
    if os.path.exists("/sys/fs/cgroup/blkio/blkio.weight"):
        pytest.skip("this kernel has blkio.weight")
    b = make(bundle, ["true"], linux_section, {"blockIO": {"weight": 500}})
    out = runtime("create", "--bundle", b, cid)
    assert out.code != 0 and "blkio.weight" in out.err
    assert cgroup_leftovers(cid) == [] and runtime.ids() == []


def test_unsupported_resources_are_refused(runtime, bundle, cid, linux_section):
    b = make(bundle, ["true"], linux_section, {"network": {"classID": 1}})
    out = runtime("create", "--bundle", b, cid)
    assert out.code != 0 and "linux.resources.network" in out.err


def test_priming_the_cgroup_lock_moves_nothing_and_keeps_it_warm_until_joined():
    """create's warm-up "moves" the runtime into the cgroups it is already in, in a
    thread, again and again until joined (so the init's attach finds the lock warm)."""
    import subprocess
    import sys

    code = ("import _thread, os, time\n"
            "from pyocijail.backends.linux import cgroups\n"
            "before = open('/proc/self/cgroup').read()\n"
            "fd = cgroups._own_procs_fd()\n"
            "assert fd is not None\n"
            "os.write(fd, b'0'); os.close(fd)\n"
            "assert open('/proc/self/cgroup').read() == before\n"
            "join = cgroups.prime_attach(interval=0.001)\n"
            "time.sleep(0.2)\n"
            "moves = join()\n"
            "assert _thread._count() == 0  # joined: a fork now copies one thread\n"
            "assert open('/proc/self/cgroup').read() == before\n"
            "print(moves)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert int(out.stdout) >= 2  # not one move: repeated until joined


def test_an_unjoined_warm_up_thread_ends_by_itself():
    """A create or exec that fails before its fork never joins the thread: an
    in-process caller must not keep a thread writing cgroup.procs for ever."""
    import subprocess
    import sys

    code = ("import _thread, time\n"
            "from pyocijail.backends.linux import cgroups\n"
            "join = cgroups.prime_attach(interval=0.001, limit=0.1)\n"
            "time.sleep(0.05)\n"
            "assert _thread._count() == 1  # still warming\n"
            "deadline = time.monotonic() + 5\n"
            "while _thread._count() and time.monotonic() < deadline:\n"
            "    time.sleep(0.01)\n"
            "assert _thread._count() == 0  # ended without a join\n"
            "assert join() >= 2  # and a late join still returns\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_exec_forks_after_joining_the_warm_up_thread():
    """exec warms the lock too (warm_up twice is one thread); fork_joined joins it first."""
    import subprocess
    import sys

    code = ("import _thread, os\n"
            "from pyocijail.backends.linux.backend import LinuxBackend\n"
            "b = LinuxBackend(None, None)\n"
            "b.warm_up()\n"
            "first = b._primed\n"
            "b.warm_up()\n"
            "assert first is not None and b._primed is first\n"
            "pid = b.fork_joined({}, os.getpid(), lambda: os._exit(7))\n"
            "assert b._primed is None and _thread._count() == 0  # joined before the fork\n"
            "assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unfilled_shared_cpuset_parent_is_filled(runtime, bundle, cid, linux_section):
    """A parallel create makes the shared parent and has not yet given it cpus and mems
    (seen in tests/reliability's 50 parallel lifecycles as ENOSPC on cgroup.procs): this
    create fills it instead of copying its emptiness into the container's cpuset."""
    parent = f"pyocijail-unfilled-{cid}"
    top = f"/sys/fs/cgroup/cpuset/{parent}"
    os.mkdir(top)  # as the other create left it: no cpus, no mems
    try:
        assert read(f"{top}/cpuset.cpus") == "" and read(f"{top}/cpuset.mems") == ""
        b = make(bundle, ["cat", "/proc/self/status"], linux_section,
                 cgroupsPath=f"/{parent}/{cid}")
        out = runtime("run", "--bundle", b, cid)
        assert out.code == 0, out.err
        assert "Cpus_allowed_list" in out.out
        assert read(f"{top}/cpuset.cpus") == read("/sys/fs/cgroup/cpuset/cpuset.cpus")
        assert read(f"{top}/cpuset.mems") == read("/sys/fs/cgroup/cpuset/cpuset.mems")
    finally:
        runtime("delete", "--force", cid)
        for controller in os.listdir("/sys/fs/cgroup"):
            path = f"/sys/fs/cgroup/{controller}/{parent}"
            if os.path.isdir(path) and not os.path.islink(f"/sys/fs/cgroup/{controller}"):
                os.rmdir(path)
    assert cgroup_leftovers(cid) == []
