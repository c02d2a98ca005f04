"""Whole backend sequences on the simulated kernel: prepare, enter, destroy."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pyocijail.backends.freebsd.backend import FreeBSDBackend
from pyocijail.errors import ConfigError, KernelError
from pyocijail.spec.model import Cpu, Memory, Resources
from pyocijail.testing.freebsd_undo import MemoryUndoLog
from pyocijail.testing.simhost import SimulatedHostKernel
from pyocijail.testing.simkernel import SimulatedKernel

from .conftest import RecordingLog, assert_clean, base_config, plan_of, tree


def rich_config(host: Path) -> dict[str, Any]:
    """Touches every prepare step except vnet interfaces (see vnet_config)."""
    return base_config(
        root={"path": "rootfs", "readonly": True},
        mounts=[
            {"destination": "/dev", "type": "devfs", "source": "devfs",
             "options": ["ruleset=4", "rule=path shm unhide mode 1777"]},
            {"destination": "/dev/fd", "type": "fdescfs", "source": "fdesc"},
            {"destination": "/etc/hosts", "type": "nullfs", "source": str(host / "hosts")},
            {"destination": "/run/.containerenv", "type": "nullfs",
             "source": str(host / ".containerenv")},
            {"destination": "/data", "type": "bind", "source": str(host / "volume"),
             "options": ["rbind"]},
            {"destination": "/data/cache", "type": "tmpfs", "source": "tmpfs",
             "options": ["tmpcopyup"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["tmpcopyup"]},
        ],
        freebsd={"jail": {"parent": "infra", "ip4Addr": ["192.0.2.5"], "interface": "em0"},
                 "devices": [{"path": "null", "mode": 438}]},
        linux={"resources": {"memory": {"limit": 1 << 30}, "cpu": {"cpus": "0-1"}}},
        annotations={"org.freebsd.rctl": "openfiles:deny=512"},
    )


def vnet_config() -> dict[str, Any]:
    return base_config(mounts=[{"destination": "/dev", "type": "devfs", "source": "devfs",
                                "options": ["ruleset=4"]}],
                       freebsd={"jail": {"vnet": "new", "vnetInterfaces": ["epair0b"]}})


def make_infra(sim: SimulatedKernel, layout: dict[str, Path]) -> None:
    (layout["tmp"] / "infra").mkdir(exist_ok=True)
    sim.jail_set({"name": "infra", "path": str(layout["tmp"] / "infra"), "persist": True,
                  "vnet": "new", "children.max": 0}, create=True)


def assert_only_infra_left(sim: SimulatedKernel) -> None:
    state = sim.snapshot()
    assert [j["name"] for j in state["jails"].values()] == ["infra"]
    assert next(iter(state["jails"].values()))["params"]["children.max"] == 0
    state["jails"] = {}
    assert state["mounts"] == [] and state["rctl"] == [] and state["aliases"] == {}
    assert state["cpusets"] == {} and state["vnet_ifaces"] == {}


def test_prepare_then_destroy_leaves_nothing(backend: FreeBSDBackend, sim: SimulatedKernel,
                                             layout: dict[str, Path]) -> None:
    """A full create's host side is completely undone by destroy."""
    make_infra(sim, layout)
    before = (tree(layout["rootfs"]), tree(layout["host"]))
    plan = plan_of(backend, layout, rich_config(layout["host"]))
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    snap = sim.snapshot()
    assert len(snap["mounts"]) == 8 and snap["cpusets"] and snap["aliases"]["em0"]
    assert sim.jail_get("infra")["children.max"] == 1
    jid = sim.jail_get("infra.c1")["jid"]
    assert state == {"jid": jid, "jail": "infra.c1",
                     "annotations": {"org.freebsd.jail.jid": str(jid)},
                     **backend.recorded(plan)}
    backend.destroy(state, undo)
    assert_only_infra_left(sim)
    assert (tree(layout["rootfs"]), tree(layout["host"])) == before
    assert os.listdir(layout["state"]) == []


def test_vnet_interfaces_are_moved_and_return(backend: FreeBSDBackend, sim: SimulatedKernel,
                                              layout: dict[str, Path]) -> None:
    """vnetInterfaces are moved into the jail after create and come back at destroy."""
    plan = plan_of(backend, layout, vnet_config())
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    assert sim.snapshot()["vnet_ifaces"] == {"epair0b": state["jid"]}
    backend.destroy(state, undo)
    assert_clean(sim)


def test_destroy_on_a_host_with_racct_off(tmp_path: Path, log: RecordingLog) -> None:
    """GENERIC boots with kern.racct.enable=0: every rctl call is ENOSYS, and delete
    (which always clears `jail:<name>` rules) still succeeds when none were asked for."""
    sim = SimulatedKernel.configure(str(tmp_path / "sim.json"))  # racct off by default
    backend = FreeBSDBackend(SimulatedHostKernel(sim.path), log)
    layout = _layout(tmp_path)
    plan = plan_of(backend, layout, vnet_config())
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    with pytest.raises(KernelError) as info:
        sim.rctl_remove(f"jail:{plan.name}")
    assert info.value.errno == errno.ENOSYS
    backend.destroy(state, undo)
    assert_clean(sim)


def test_limits_on_a_host_with_racct_off_fail_before_anything_exists(
        tmp_path: Path, log: RecordingLog) -> None:
    """Limits asked on a GENERIC host (kern.racct.enable=0): one error naming the
    tunable, and no jail, mount or rule made (not a late ENOSYS from rctl -a)."""
    sim = SimulatedKernel.configure(str(tmp_path / "sim.json"))
    backend = FreeBSDBackend(SimulatedHostKernel(sim.path), log)
    layout = _layout(tmp_path)
    plan = plan_of(backend, layout, rich_config(layout["host"]))
    assert plan.rctl
    with pytest.raises(ConfigError, match=r"kern.racct.enable=1"):
        backend.prepare(plan, MemoryUndoLog())
    assert_clean(sim)
    assert not [c for c in sim.snapshot()["calls"] if c[0] in ("jail_set", "nmount")]


def _layout(tmp: Path) -> dict[str, Path]:
    from .conftest import make_host, make_rootfs

    bundle = tmp / "bundle"
    make_rootfs(bundle / "rootfs")
    state = tmp / "state" / "c1"
    state.mkdir(parents=True)
    return {"tmp": tmp, "bundle": bundle, "rootfs": bundle / "rootfs",
            "host": make_host(tmp / "host"), "state": state}


@pytest.mark.parametrize("which", ["rich", "vnet"])
def test_destroy_after_a_failure_at_every_step(which: str, tmp_path: Path) -> None:
    """Whichever kernel call of prepare fails, destroy leaves nothing behind."""
    def config(layout: dict[str, Path]) -> dict[str, Any]:
        return rich_config(layout["host"]) if which == "rich" else vnet_config()

    probe = tmp_path / "probe"
    probe.mkdir()
    layout0 = _layout(probe)
    sim0 = SimulatedKernel.configure(str(probe / "sim.json"), racct=True)
    make_infra(sim0, layout0)
    start = len(sim0.snapshot()["calls"])
    b0 = FreeBSDBackend(SimulatedHostKernel(sim0.path), RecordingLog())
    b0.prepare(plan_of(b0, layout0, config(layout0)), MemoryUndoLog())
    calls = sim0.snapshot()["calls"][start:]
    assert len(calls) >= (12 if which == "rich" else 3)
    for step, call in enumerate(calls):
        op = call[0]
        after = sum(1 for c in calls[:step] if c[0] == op)
        case = tmp_path / f"step{step}"
        case.mkdir()
        layout = _layout(case)
        sim = SimulatedKernel.configure(str(case / "sim.json"), racct=True)
        make_infra(sim, layout)
        before = (tree(layout["rootfs"]), tree(layout["host"]))
        backend = FreeBSDBackend(SimulatedHostKernel(sim.path), RecordingLog())
        plan = plan_of(backend, layout, config(layout))
        sim.fail_next(op, errno.EIO, after=after)
        undo = MemoryUndoLog()
        with pytest.raises(KernelError):
            backend.prepare(plan, undo)
        # The core saved only what create records before prepare journals anything.
        backend.destroy(backend.recorded(plan), undo)
        assert_only_infra_left(sim)
        assert (tree(layout["rootfs"]), tree(layout["host"])) == before, (step, call)
        assert os.listdir(layout["state"]) == [], (step, call)


def test_destroy_is_idempotent(backend: FreeBSDBackend, sim: SimulatedKernel,
                               layout: dict[str, Path]) -> None:
    """A second destroy finds nothing to do and changes nothing (children.max too)."""
    make_infra(sim, layout)
    plan = plan_of(backend, layout, rich_config(layout["host"]))
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    backend.destroy(state, undo)
    backend.destroy(state, undo)
    assert_only_infra_left(sim)


def test_two_pod_members_share_the_raised_children_max(backend: FreeBSDBackend,
                                                       sim: SimulatedKernel,
                                                       layout: dict[str, Path]) -> None:
    """Each member raises children.max by one; deleting both restores the original."""
    make_infra(sim, layout)
    config = base_config(annotations={"org.freebsd.parentJail": "infra"})
    undos, states = [], []
    for cid in ("a", "b"):
        undo = MemoryUndoLog()
        states.append(backend.prepare(plan_of(backend, layout, config, cid), undo))
        undos.append(undo)
    assert sim.jail_get("infra")["children.max"] == 2
    backend.destroy(states[0], undos[0])
    assert sim.jail_get("infra")["children.max"] == 1
    backend.destroy(states[1], undos[1])
    assert_only_infra_left(sim)


def test_defaulted_allow_is_dropped_under_a_strict_parent(backend: FreeBSDBackend,
                                                          sim: SimulatedKernel,
                                                          layout: dict[str, Path],
                                                          log: RecordingLog) -> None:
    """Legacy allow.chflags is dropped if the parent lacks it, as ocijail does."""
    make_infra(sim, layout)
    config = base_config(annotations={"org.freebsd.parentJail": "infra"})
    plan = plan_of(backend, layout, config)
    undo = MemoryUndoLog()
    backend.prepare(plan, undo)
    params = sim.jail_get("infra.c1")
    assert params["allow.chflags"] is False and params["allow.raw_sockets"] is False
    assert any("allow.chflags" in m for m in log.debugs)


def test_defaulted_sysv_follows_a_parent_without_sysv(backend: FreeBSDBackend,
                                                     sim: SimulatedKernel,
                                                     layout: dict[str, Path],
                                                     log: RecordingLog) -> None:
    """The default SysV `new` becomes `disable` under a parent whose SysV IPC is
    disabled (a jail created without sysv* parameters): the kernel says EPERM."""
    make_infra(sim, layout)
    assert sim.jail_get("infra")["sysvshm"] == "disable"
    config = base_config(annotations={"org.freebsd.parentJail": "infra"})
    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, config), undo)
    params = sim.jail_get("infra.c1")
    assert (params["sysvmsg"], params["sysvsem"], params["sysvshm"]) == ("disable",) * 3
    assert any("sysvshm=disable" in m for m in log.debugs)
    backend.destroy(state, undo)
    assert_only_infra_left(sim)


@pytest.mark.parametrize("jail", [{"allow": {"mlock": True}}, {"sysvshm": "new"}],
                         ids=["allow", "sysv"])
def test_explicit_setting_beyond_the_parent_fails(backend: FreeBSDBackend,
                                                  sim: SimulatedKernel,
                                                  layout: dict[str, Path],
                                                  jail: dict[str, object]) -> None:
    """An explicitly requested permission, or SysV namespace, the parent cannot give
    is an error (EPERM): only defaulted settings are weakened."""
    make_infra(sim, layout)
    config = base_config(freebsd={"jail": {"parent": "infra", **jail}})
    undo = MemoryUndoLog()
    plan = plan_of(backend, layout, config)
    with pytest.raises(KernelError) as info:
        backend.prepare(plan, undo)
    assert info.value.errno == errno.EPERM
    backend.destroy(backend.recorded(plan), undo)
    assert_only_infra_left(sim)


def test_member_of_a_secure_parent_inherits_its_securelevel(backend: FreeBSDBackend,
                                                            sim: SimulatedKernel,
                                                            layout: dict[str, Path]) -> None:
    """The plan never passes securelevel (the kernel refuses one below the parent's):
    a member takes its parent's level."""
    make_infra(sim, layout)
    sim.jail_set({"name": "infra", "securelevel": 3}, create=False)
    config = base_config(annotations={"org.freebsd.parentJail": "infra"})
    plan = plan_of(backend, layout, config)
    assert "securelevel" not in plan.jail.params
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    assert sim.jail_get("infra.c1")["securelevel"] == 3
    backend.destroy(state, undo)
    assert_only_infra_left(sim)


def test_devfs_rules_follow_their_mount_and_apply_to_it_alone(backend: FreeBSDBackend,
                                                              sim: SimulatedKernel,
                                                              layout: dict[str, Path]) -> None:
    """Each devfs mount's rules are applied right after it with `rule apply`, to that
    mount alone, whatever its ruleset holds (ruleset 4 unhides zfs: the rule hides
    it); a rule including a missing ruleset fails with ESRCH and destroy undoes
    the rest."""
    config = base_config(mounts=[{"destination": "/dev", "type": "devfs", "source": "devfs",
                                  "options": ["ruleset=4", "rule=path zfs hide"]}])
    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, config), undo)
    calls = [c[0] for c in sim.snapshot()["calls"] if c[0].startswith(("nmount", "devfs"))]
    assert calls == ["devfs_ruleset_rules", "devfs_rule_depth", "devfs_ruleset_rules",
                     "nmount", "devfs_rule_apply"]
    assert "zfs" not in sim.snapshot()["mounts"][0]["visible"]
    assert sim.snapshot()["devfs_rulesets"]["4"][-1] == "path zfs unhide"  # untouched
    backend.destroy(state, undo)
    assert_clean(sim)
    config["mounts"][0]["options"] = ["ruleset=4", "rule=include 42"]
    undo = MemoryUndoLog()
    plan = plan_of(backend, layout, config, "c2")
    with pytest.raises(KernelError) as info:
        backend.prepare(plan, undo)
    assert info.value.errno == errno.ESRCH
    backend.destroy(backend.recorded(plan), undo)
    assert_clean(sim)


def test_missing_parent_is_a_config_error(backend: FreeBSDBackend,
                                          layout: dict[str, Path]) -> None:
    """A parent jail that does not exist is reported as such."""
    config = base_config(annotations={"org.freebsd.parentJail": "ghost"})
    with pytest.raises(ConfigError, match='parent jail "ghost" does not exist'):
        backend.prepare(plan_of(backend, layout, config), MemoryUndoLog())


def test_a_refused_file_mount_is_an_error_and_delete_writes_no_host_file(
        tmp_path: Path, layout: dict[str, Path]) -> None:
    """A file nullfs refuses is an error, not a copy: the old copy fallback saved the
    image's file and wrote it back at delete through a link the jail's root could
    plant there since (here /etc/hosts -> a host file), overwriting that host file."""
    sim = SimulatedKernel.configure(str(tmp_path / "old.json"), nullfs_files=False)
    backend = FreeBSDBackend(SimulatedHostKernel(sim.path), RecordingLog())
    victim = tmp_path / "crontab"
    victim.write_text("host crontab\n")
    config = base_config(mounts=[{"destination": "/etc/hosts", "type": "nullfs",
                                  "source": str(layout["host"] / "hosts")}])
    before = tree(layout["rootfs"])
    undo = MemoryUndoLog()
    plan = plan_of(backend, layout, config)
    state: dict[str, Any] = backend.recorded(plan)  # what create saves first
    with contextlib.suppress(KernelError):
        state = backend.prepare(plan, undo)
    refused = "jid" not in state
    hosts = layout["rootfs"] / "etc/hosts"
    written = hosts.read_text()
    hosts.unlink()  # what the jail's root does after create
    hosts.symlink_to(victim)
    backend.destroy(state, undo)
    assert victim.read_text() == "host crontab\n"
    assert refused and written == "127.0.0.1 localhost\n"
    hosts.unlink()
    hosts.write_text(written)
    assert tree(layout["rootfs"]) == before
    assert_clean(sim)
    assert os.listdir(layout["state"]) == []


def test_tmpcopyup_keeps_content_and_drops_the_scratch(backend: FreeBSDBackend,
                                                       sim: SimulatedKernel,
                                                       layout: dict[str, Path]) -> None:
    """tmpcopyup copies the covered directory in; no scratch copy is left."""
    config = base_config(mounts=[{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                  "options": ["tmpcopyup"]}])
    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, config), undo)
    assert (layout["rootfs"] / "tmp/seed").read_text() == "copied up\n"
    assert os.listdir(layout["state"]) == []
    assert any(e["op"] == "scratch" for e in undo.entries())
    backend.destroy(state, undo)
    assert_clean(sim)


def test_destroy_leaves_a_reused_name_alone(backend: FreeBSDBackend, sim: SimulatedKernel,
                                            layout: dict[str, Path], log: RecordingLog) -> None:
    """If the jail name now belongs to another jid, destroy does not remove it."""
    plan = plan_of(backend, layout, base_config())
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    sim.jail_remove(state["jid"])
    other = sim.jail_set({"name": "c1", "path": str(layout["rootfs"]), "persist": True},
                         create=True)
    backend.destroy(state, undo)
    assert sim.jail_get("c1")["jid"] == other
    assert any("leaving it alone" in w for w in log.warnings)


def _member(sim: SimulatedKernel, jid: int) -> subprocess.Popen[bytes]:
    code = ("import os, time; from pyocijail.testing.simkernel import SimulatedKernel as K;"
            "os.chroot = lambda p: None;"
            f"K({sim.path!r}).jail_attach({jid}); print('in', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"in\n"
    return proc


def test_processes_pause_resume_and_kill_on_destroy(backend: FreeBSDBackend,
                                                    sim: SimulatedKernel,
                                                    layout: dict[str, Path]) -> None:
    """processes() lists jailed pids; pause/resume stop and continue them; destroy kills."""
    import psutil

    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, base_config()), undo)
    proc = _member(sim, state["jid"])
    try:
        assert list(backend.processes(state, proc.pid)) == [proc.pid]
        backend.freeze(state, proc.pid, True)
        deadline = time.time() + 5
        while psutil.Process(proc.pid).status() != psutil.STATUS_STOPPED:
            assert time.time() < deadline
            time.sleep(0.01)
        backend.freeze(state, proc.pid, False)
        while psutil.Process(proc.pid).status() == psutil.STATUS_STOPPED:
            assert time.time() < deadline
            time.sleep(0.01)
        backend.destroy(state, undo)
        assert proc.wait(5) == -signal.SIGKILL
        assert list(backend.processes(state, proc.pid)) == []
    finally:
        proc.kill()
        proc.wait()
    assert_clean(sim)


def test_update_replaces_rctl_and_cpuset(backend: FreeBSDBackend, sim: SimulatedKernel,
                                         layout: dict[str, Path]) -> None:
    """update swaps the jail's rctl rules and cpuset; destroy removes the new rules."""
    config = base_config(linux={"resources": {"memory": {"limit": 1024}}})
    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, config), undo)
    backend.update(state, Resources(memory=Memory(limit=2048), cpu=Cpu(quota=50000,
                                                                       cpus="1")))
    snap = sim.snapshot()
    assert snap["rctl"] == ["jail:c1:memoryuse:deny=2048", "jail:c1:pcpu:deny=50"]
    assert snap["cpusets"] == {str(state["jid"]): "1"}
    backend.destroy(state, undo)
    assert_clean(sim)


def test_update_without_rules_at_create_is_still_cleaned(backend: FreeBSDBackend,
                                                         sim: SimulatedKernel,
                                                         layout: dict[str, Path]) -> None:
    """Rules added by update are removed even though create recorded no rctl undo."""
    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, base_config()), undo)
    backend.update(state, Resources(memory=Memory(limit=4096)))
    backend.destroy(state, undo)
    assert_clean(sim)


def test_join_needs_the_recorded_jail(backend: FreeBSDBackend, sim: SimulatedKernel,
                                      layout: dict[str, Path]) -> None:
    """join attaches by the recorded jid, and refuses when the jail is gone."""
    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, base_config()), undo)
    backend.destroy(state, undo)
    with pytest.raises(KernelError, match="jail is gone"):
        backend.join(state, 1)


def test_enter_attaches_and_records_order(backend: FreeBSDBackend, sim: SimulatedKernel,
                                          layout: dict[str, Path]) -> None:
    """enter() in init is jail_attach(jid), after every mount of prepare."""
    plan = plan_of(backend, layout, base_config(mounts=[
        {"destination": "/dev", "type": "devfs", "source": "devfs", "options": ["ruleset=4"]}]))
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    pid = os.fork()
    if pid == 0:
        try:
            os.chroot = lambda p: None  # type: ignore[assignment]  # membership only
            backend.enter(plan)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    ops = [c[0] for c in sim.snapshot()["calls"]]
    assert ops.index("jail_attach") > max(i for i, o in enumerate(ops) if o == "nmount")
    backend.destroy(state, undo)
    assert_clean(sim)


@pytest.mark.parametrize("how", ["enter", "join", "hook"])
def test_the_attaching_process_disables_tracing_first(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path],
        how: str) -> None:
    """9(c): init, exec and hooks make themselves untraceable (procctl
    PROC_TRACE_CTL_DISABLE, P_PID, their own pid) right before jail_attach, so the
    jail's root can never ptrace a process holding host descriptors."""
    plan = plan_of(backend, layout, base_config())
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    start = len(sim.snapshot()["calls"])
    pid = os.fork()
    if pid == 0:
        try:
            os.chroot = lambda p: None  # type: ignore[assignment]  # membership only
            if how == "enter":
                backend.enter(plan)
            elif how == "join":
                FreeBSDBackend(SimulatedHostKernel(sim.path), RecordingLog()).join(state, 1)
            else:
                FreeBSDBackend(SimulatedHostKernel(sim.path), RecordingLog()).enter_hook(plan)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    snap = sim.snapshot()
    calls = [c for c in snap["calls"][start:] if c[0] in ("procctl", "jail_attach")]
    assert calls == [["procctl", 0, pid, 7, 2], ["jail_attach", state["jid"]]]
    assert [p for p, _ in snap["notrace"]] == [pid]
    backend.destroy(state, undo)
    assert_clean(sim)


def test_planning_only_backend_refuses_to_act(planner: FreeBSDBackend,
                                              layout: dict[str, Path]) -> None:
    """FreeBSDBackend(None) plans but any kernel step fails with ENOSYS."""
    plan = plan_of(planner, layout, base_config())
    with pytest.raises(KernelError) as info:
        planner.prepare(plan, MemoryUndoLog())
    assert info.value.errno == errno.ENOSYS


def test_features_lists_mount_options(planner: FreeBSDBackend) -> None:
    """features names pseudo and ignored options and the org.freebsd. prefix."""
    feats = planner.features()
    for opt in ("tmpcopyup", "notmpcopyup", "rule", "rbind", "ruleset", "ro", "nosuid"):
        assert opt in feats["mountOptions"]
    assert feats["potentiallyUnsafeConfigAnnotations"] == ["org.freebsd."]
    json.dumps(feats)


@pytest.mark.parametrize("anchored", [True, False])
def test_destroy_keeps_a_mount_point_whose_parent_became_a_link(
        tmp_path: Path, log: RecordingLog, anchored: bool) -> None:
    """A mount point's parent swapped for a symlink is left alone with a warning,
    with or without an anchor (old journals): O_NOFOLLOW refuses the link with
    ENOTDIR, ELOOP or, on FreeBSD, EMLINK."""
    from pyocijail.backends.freebsd.teardown import _remove_point

    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "point").mkdir(parents=True)
    root.mkdir()
    (root / "parent").symlink_to(outside)
    _remove_point(log, str(root / "parent/point"), "dir", str(root) if anchored else None)
    assert (outside / "point").is_dir()
    assert any("keeping" in w for w in log.warnings)


@pytest.mark.parametrize("err", [errno.EMLINK, errno.ELOOP])
def test_destroy_reads_freebsd_nofollow_errors_as_a_swapped_link(
        tmp_path: Path, log: RecordingLog, monkeypatch: pytest.MonkeyPatch, err: int) -> None:
    """FreeBSD's open(2) refuses O_NOFOLLOW on a link with EMLINK before it checks
    O_DIRECTORY (vn_open_vnode); that, or ELOOP, is a swapped link, not a failure."""
    from pyocijail.backends.freebsd import teardown

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(teardown.os, "open", refuse)
    teardown._remove_point(log, str(tmp_path / "parent/point"), "dir", None)
    assert any("keeping" in w for w in log.warnings)


def _devfs_config(*options: str) -> dict[str, Any]:
    return base_config(mounts=[{"destination": "/dev", "type": "devfs", "source": "devfs",
                                "options": list(options)},
                               {"destination": "/dev/fd", "type": "fdescfs",
                                "source": "fdesc"}])


def _devfs_calls(sim: SimulatedKernel) -> list[list[Any]]:
    return [c for c in sim.snapshot()["calls"] if c[0].startswith(("nmount", "devfs", "jail"))]


def test_devfs_with_a_missing_ruleset_is_refused(backend: FreeBSDBackend, sim: SimulatedKernel,
                                                 layout: dict[str, Path]) -> None:
    """devfs(5)/devfs_vfsops.c: mounting a ruleset that does not exist creates it empty,
    so the container would see every host device (/dev/mem, disks). create refuses it
    before doing anything, naming the mount and the ruleset."""
    before = tree(layout["rootfs"])
    undo = MemoryUndoLog()
    with pytest.raises(ConfigError) as info:
        backend.prepare(plan_of(backend, layout, _devfs_config("ruleset=60")), undo)
    message = str(info.value)
    assert "mount /dev" in message and "ruleset 60" in message and "ruleset=0" in message
    assert _devfs_calls(sim) == [["devfs_ruleset_rules", 60]]
    backend.destroy({}, undo)
    assert_clean(sim)
    assert "60" not in sim.snapshot()["devfs_rulesets"]
    assert tree(layout["rootfs"]) == before


def test_devfs_with_an_empty_ruleset_is_refused(backend: FreeBSDBackend, sim: SimulatedKernel,
                                                layout: dict[str, Path],
                                                tmp_path: Path) -> None:
    """A ruleset that exists but holds no rules (kept alive by another mount using it)
    hides nothing either: refused the same way."""
    (tmp_path / "other").mkdir()
    sim.nmount("devfs", "devfs", str(tmp_path / "other"), 0, {"ruleset": "61"})
    assert sim.snapshot()["devfs_rulesets"]["61"] == []
    undo = MemoryUndoLog()
    with pytest.raises(ConfigError, match=r"mount /dev: devfs ruleset 61 "):
        backend.prepare(plan_of(backend, layout, _devfs_config("ruleset=61")), undo)
    backend.destroy({}, undo)
    state = sim.snapshot()
    assert state["jails"] == {}
    assert [m["target"] for m in state["mounts"]] == [str(tmp_path / "other")]


def test_host_without_loaded_devfs_rules_refuses_podmans_ruleset(
        tmp_path: Path, log: RecordingLog, layout: dict[str, Path]) -> None:
    """rc.d/devfs never ran (devfs_load_rulesets): ruleset 4 does not exist, and
    podman's `ruleset=4` would expose everything; refused."""
    sim = SimulatedKernel.configure(str(tmp_path / "bare.json"), devfs_rules=False)
    backend = FreeBSDBackend(SimulatedHostKernel(sim.path), log)
    undo = MemoryUndoLog()
    with pytest.raises(ConfigError, match="ruleset 4"):
        backend.prepare(plan_of(backend, layout, _devfs_config("ruleset=4")), undo)
    backend.destroy({}, undo)
    assert_clean(sim)


def test_devfs_ruleset_0_is_accepted_unchecked(backend: FreeBSDBackend, sim: SimulatedKernel,
                                               layout: dict[str, Path]) -> None:
    """`ruleset=0` (podman --privileged) asks for every device explicitly: mounted
    without a check (devfs(8) `-s 0` would mean the mount's own ruleset anyway)."""
    plan = plan_of(backend, layout, _devfs_config("ruleset=0"))
    assert plan.to_json()["devfs_ruleset_checks"] == []
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    assert not [c for c in _devfs_calls(sim) if c[0] == "devfs_ruleset_rules"]
    assert "mem" in sim.snapshot()["mounts"][0]["visible"]
    backend.destroy(state, undo)
    assert_clean(sim)


def test_devfs_stock_ruleset_4_is_checked_then_mounted(backend: FreeBSDBackend,
                                                       sim: SimulatedKernel,
                                                       layout: dict[str, Path]) -> None:
    """The stock ruleset 4 (devfsrules_jail) hides everything first (its `include 1`,
    followed at the default vfs.devfs.rule_depth of 1): checked before the jail
    exists, then mounted; /dev/mem is hidden and /dev/fd usable."""
    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, _devfs_config("ruleset=4")), undo)
    calls = _devfs_calls(sim)
    assert calls[:3] == [["devfs_ruleset_rules", 4], ["devfs_rule_depth"],
                         ["devfs_ruleset_rules", 1]]
    assert [c[0] for c in calls[3:]] == ["jail_set", "nmount", "nmount"]
    dev = sim.snapshot()["mounts"][0]
    assert dev["ruleset"] == 4 and "mem" not in dev["visible"] and "fd" in dev["visible"]
    backend.destroy(state, undo)
    assert_clean(sim)


def test_devfs_without_ruleset_gets_jails_default_4(backend: FreeBSDBackend,
                                                    sim: SimulatedKernel,
                                                    layout: dict[str, Path],
                                                    log: RecordingLog) -> None:
    """No `ruleset=` would mount devfs with no ruleset at all (every device); as
    jail(8) mount.devfs does, ruleset 4 (devfsrules_jail) is used, with a warning."""
    plan = plan_of(backend, layout, _devfs_config())
    assert plan.mounts[0].data == (("ruleset", "4"),)
    assert any("ruleset=" in w and "4" in w for w in log.warnings)
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    assert "mem" not in sim.snapshot()["mounts"][0]["visible"]
    backend.destroy(state, undo)
    assert_clean(sim)


def _devfs_allowed(**jail: Any) -> dict[str, Any]:
    return {"jail": {"allow": {"mount": ["devfs"]}, "enforceStatfs": 1, **jail}}


@pytest.mark.parametrize(("mounts", "expected"), [
    ([], 4),
    ([{"destination": "/dev", "type": "devfs", "source": "devfs",
       "options": ["ruleset=5"]}], 5)])
def test_allow_mount_devfs_sets_the_jails_devfs_ruleset(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path],
        mounts: list[dict[str, Any]], expected: int) -> None:
    """F3: a jail that may mount devfs gets a devfs_ruleset (its /dev mount's, else 4):
    left unset it inherits prison0's 0, and a devfs mounted inside shows every host
    device (devfs_vfsops.c devfs_mount uses the prison's ruleset)."""
    plan = plan_of(backend, layout, base_config(mounts=mounts, freebsd=_devfs_allowed()))
    assert plan.jail.params["devfs_ruleset"] == expected
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    assert sim.jail_get(plan.name)["devfs_ruleset"] == expected
    backend.destroy(state, undo)
    assert_clean(sim)


def test_allow_mount_devfs_on_a_host_without_rulesets_is_refused(tmp_path: Path,
                                                                 log: RecordingLog) -> None:
    """The jail's devfs_ruleset is checked as a /dev mount's is: a host that never
    loaded devfs.rules has no ruleset 4, and the kernel would create it empty."""
    sim = SimulatedKernel.configure(str(tmp_path / "sim.json"), devfs_rules=False)
    backend = FreeBSDBackend(SimulatedHostKernel(sim.path), log)
    layout = _layout(tmp_path)
    plan = plan_of(backend, layout, base_config(freebsd=_devfs_allowed()))
    with pytest.raises(ConfigError, match="the jail's devfs_ruleset: devfs ruleset 4"):
        backend.prepare(plan, MemoryUndoLog())
    assert_clean(sim)


def _volume_config(host: Path) -> dict[str, Any]:
    return base_config(mounts=[
        {"destination": "/data", "type": "nullfs", "source": str(host / "volume")},
        {"destination": "/data/cache", "type": "tmpfs", "source": "tmpfs"}])


def test_a_mount_sent_elsewhere_by_a_swapped_link_is_undone_and_refused(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path]) -> None:
    """9(b): nmount resolves its path again. A jail sharing the volume swaps the
    folder for a link to a host folder between plan and mount: the kernel mounts
    there (host-wide: no mount namespace). Create sees f_mntonname is not the
    planned path, unmounts that mount by its fsid, and fails."""
    (layout["host"] / "volume/cache").mkdir()
    plan = plan_of(backend, layout, _volume_config(layout["host"]))
    victim = layout["tmp"] / "host-etc"
    victim.mkdir()
    (layout["host"] / "volume/cache").rmdir()
    (layout["host"] / "volume/cache").symlink_to(victim)
    undo = MemoryUndoLog()
    with pytest.raises(KernelError, match=r"landed on .*host-etc") as info:
        backend.prepare(plan, undo)
    assert info.value.errno == errno.EXDEV
    assert [m["target"] for m in sim.snapshot()["mounts"]] == [str(layout["rootfs"] / "data")]
    backend.destroy(backend.recorded(plan), undo)
    assert_clean(sim)


def test_two_pods_on_one_rootfs_each_remove_only_their_own_mounts(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path]) -> None:
    """podman's infra containers share one rootfs, so two pods stack their mounts
    on the same paths: deleting the first must not take the second's (by path it
    took the topmost, the second's), nor remove a mount point the second's mount
    is on (rmdir would be EBUSY), and each delete succeeds."""
    pods = []
    for n, cid in enumerate(("pod1", "pod2")):
        config = base_config(mounts=[
            {"destination": "/dev", "type": "devfs", "source": "devfs",
             "options": ["ruleset=4", f"rule=path zero{n} unhide"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": [f"size={n + 1}m"]},
            {"destination": "/catatonit", "type": "nullfs",
             "source": str(layout["host"] / "hostname")}])  # pod1 creates this point
        undo = MemoryUndoLog()
        pods.append((backend.prepare(plan_of(backend, layout, config, cid), undo), undo))
    second = sim.snapshot()["mounts"][3:]
    backend.destroy(*pods[0])
    assert sim.snapshot()["mounts"] == second
    assert (layout["rootfs"] / "catatonit").is_file()  # pod2's file mount is on it
    assert [j["name"] for j in sim.snapshot()["jails"].values()] == ["pod2"]
    backend.destroy(*pods[1])
    assert_clean(sim)


def test_mounts_the_jail_made_inside_itself_are_removed_at_delete(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path]) -> None:
    """F10: with allow.mount and enforce_statfs < 2 the jail's root can mount inside
    the jail; jail_remove leaves those mounted. delete finds them below the jail's
    root in the mount list and unmounts them by fsid, deepest first."""
    config = base_config(
        mounts=[{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
        freebsd={"jail": {"allow": {"mount": ["tmpfs", "nullfs"]}, "enforceStatfs": 1}})
    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, config), undo)
    root = layout["rootfs"]
    (root / "usr/share/inner").mkdir()
    for path in (root / "usr/share", root / "usr/share/inner", root / "tmp/x"):
        if not path.exists():
            path.mkdir()
        sim.nmount("tmpfs", "tmpfs", str(path), 0, {})  # as the jail's root would
    backend.destroy(state, undo)
    assert_clean(sim)


def test_create_from_a_runtime_inside_a_jail_skips_the_devfs_rules_check(
        sim: SimulatedKernel, layout: dict[str, Path]) -> None:
    """podman in a jail: the jail may not read devfs rules (PRIV_DEVFS_RULE), and its
    own devfs_ruleset applies to every devfs it mounts, so create does not fail on
    the check (it did, with EPERM, for every container with a /dev)."""
    outer = layout["tmp"] / "outer"
    outer.mkdir()
    sim.jail_set({"name": "outer", "path": str(outer), "persist": True, "children.max": 4,
                  "enforce_statfs": 1, "allow.raw_sockets": True, "allow.chflags": True,
                  "sysvmsg": "new", "sysvsem": "new", "sysvshm": "new",
                  "devfs_ruleset": 4}, create=True)
    config = base_config(mounts=[{"destination": "/dev", "type": "devfs",
                                  "source": "devfs", "options": ["ruleset=4"]}])
    result = layout["tmp"] / "result"
    pid = os.fork()
    if pid == 0:
        try:
            os.chroot = lambda p: None  # type: ignore[assignment]  # membership only
            sim.jail_attach(sim.jail_get("outer")["jid"])
            log = RecordingLog()
            backend = FreeBSDBackend(SimulatedHostKernel(sim.path), log)
            undo = MemoryUndoLog()
            state = backend.prepare(plan_of(backend, layout, config), undo)
            jail = sim.jail_get(state["jail"])
            dev = sim.snapshot()["mounts"][0]
            backend.destroy(state, undo)
            result.write_text(json.dumps([state["jail"], jail["parent"], dev["ruleset"],
                                          log.warnings]))
        except BaseException as err:  # noqa: BLE001  # reported to the parent
            result.write_text(json.dumps(repr(err)))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    outcome = json.loads(result.read_text())
    # Seen from inside "outer", the new jail's parent is the caller's own jail,
    # which kern_jail_get reports as 0.
    assert outcome == ["c1", 0, 4, []], outcome
    assert [j["name"] for j in sim.snapshot()["jails"].values()] == ["outer"]
    sim.jail_remove(sim.jail_get("outer")["jid"])
    assert_clean(sim)


def test_a_file_mount_over_a_hard_linked_image_file_says_why(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path]) -> None:
    """F9: FreeBSD mounts a file only over a file with one link (EINVAL otherwise);
    base-derived images hard-link files. Create fails naming that, and leaves nothing."""
    os.link(layout["rootfs"] / "etc/hosts", layout["rootfs"] / "etc/hosts.orig")
    before = tree(layout["rootfs"])
    config = base_config(mounts=[{"destination": "/etc/hosts", "type": "nullfs",
                                  "source": str(layout["host"] / "hosts")}])
    undo = MemoryUndoLog()
    plan = plan_of(backend, layout, config)
    with pytest.raises(KernelError, match="2 hard links") as info:
        backend.prepare(plan, undo)
    assert info.value.errno == errno.EINVAL
    backend.destroy(backend.recorded(plan), undo)
    assert_clean(sim)
    assert tree(layout["rootfs"]) == before


def _lingering_member(sim: SimulatedKernel, jid: int) -> subprocess.Popen[bytes]:
    """A process in jail `jid`, to be reaped half a second after jail_remove kills it."""
    code = ("import os, time; from pyocijail.testing.simkernel import SimulatedKernel as K;"
            "os.chroot = lambda p: None;"  # membership only: keep the host root
            f"K({sim.path!r}).jail_attach({jid}); print('in', flush=True);"
            "time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"in\n"
    return child


def test_destroy_takes_vnet_interfaces_back_before_removing_the_jail(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path]) -> None:
    """F8: `ifconfig epair0b -vnet <jid>` while the jail is alive, as jail(8) does
    (command.c IP_VNET_INTERFACE): the interface is on the host before jail_remove,
    even while a killed member is not yet reaped (which holds the jail's vnet)."""
    import threading

    plan = plan_of(backend, layout, vnet_config())
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    child = _lingering_member(sim, state["jid"])
    reaper = threading.Timer(0.5, child.wait)
    try:
        reaper.start()
        started = time.monotonic()
        backend.destroy(state, undo)
        assert time.monotonic() - started < 0.5  # no wait for the vnet to be freed
        assert sim.host_interface("epair0b")
    finally:
        reaper.cancel()
        child.kill()
        child.wait()
    calls = [c[0] for c in sim.snapshot()["calls"]]
    assert calls.index("ifconfig_unvnet") < calls.index("jail_remove")
    assert_clean(sim)


def test_destroy_waits_for_interfaces_it_could_not_take_back(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path],
        log: RecordingLog) -> None:
    """F8: when `-vnet` fails (here EBUSY: if_vmove_reclaim while the vnet shuts down),
    the kernel returns the interface when it frees the jail's vnet (if.c
    vnet_if_return, once the last process is reaped: kern_jail.c prison_deref), and
    destroy waits for that, so a create right after the delete can move it again."""
    import threading

    plan = plan_of(backend, layout, vnet_config())
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    child = _lingering_member(sim, state["jid"])
    sim.fail_next("ifconfig_unvnet", errno.EBUSY)
    reaper = threading.Timer(0.5, child.wait)  # a zombie for half a second after the kill
    try:
        reaper.start()
        backend.destroy(state, undo)
        assert sim.host_interface("epair0b")
    finally:
        reaper.cancel()
        child.kill()
        child.wait()
    assert any("SIOCSIFRVNET" in w for w in log.warnings)
    assert_clean(sim)


def test_a_destroyed_vnet_interface_is_a_warning_without_a_wait(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path],
        log: RecordingLog) -> None:
    """F8: an interface destroyed inside the jail is not in its vnet (`-vnet` is
    ENXIO, if_vmove_reclaim's ifunit finds nothing) nor on the host: one warning
    at once, not a wait of VNET_WAIT seconds for something that cannot come back."""
    from pyocijail.backends.freebsd import teardown

    assert teardown.VNET_WAIT >= 1
    plan = plan_of(backend, layout, vnet_config())
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    sim.destroy_interface("epair0b")
    started = time.monotonic()
    backend.destroy(state, undo)
    assert time.monotonic() - started < teardown.VNET_WAIT / 2
    assert [w for w in log.warnings if "epair0b" in w] == [
        ("destroy: vnet interface epair0b is no longer in the jail nor on the host: "
         "it was destroyed")]
    assert_clean(sim)


def test_an_alias_on_a_destroyed_interface_is_a_warning(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path],
        log: RecordingLog) -> None:
    """F8: ifconfig's "interface em0 does not exist" at delete (ENXIO) is a warning
    naming the interface, and delete succeeds."""
    make_infra(sim, layout)
    plan = plan_of(backend, layout, rich_config(layout["host"]))
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    sim.destroy_interface("em0")
    backend.destroy(state, undo)
    assert "destroy: interface em0 no longer exists: its address 192.0.2.5 went with it" \
        in log.warnings


def _in_child(fn: Any) -> Any:
    """Run `fn` in a forked child (its limits are set on a real process) and return
    what it returned, or re-raise what it raised, as (kind, text)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            out = {"ok": fn()}
        except BaseException as err:  # noqa: BLE001 - reported to the parent
            out = {"error": type(err).__name__, "text": str(err),
                   "errno": getattr(err, "errno", None)}
        os.write(write, json.dumps(out).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def test_the_init_sets_exactly_the_plans_limits_with_freebsd_numbers(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path]) -> None:
    """architecture.md §3 item 10: what `pyocijail plan` prints is what the init sets.
    setrlimit(2) reaches the libc boundary with sys/sys/resource.h's numbers
    (RLIMIT_NOFILE 8, RLIMIT_UMTXP 14, RLIMIT_AS = RLIMIT_VMEM 10), the plan's
    values, unlimited as RLIM_INFINITY; the process given alongside is not read."""
    import resource

    from pyocijail.spec.model import Process, Rlimit

    config = base_config()
    config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
        {"type": "RLIMIT_UMTXP", "soft": 100, "hard": 2**64 - 1},
        {"type": "RLIMIT_AS", "soft": 2**64 - 1, "hard": 2**64 - 1}]
    plan = plan_of(backend, layout, config)
    assert [r["type"] for r in plan.to_json()["process"]["rlimits"]] == [
        "RLIMIT_NOFILE", "RLIMIT_UMTXP", "RLIMIT_AS"]
    other = Process(cwd="/", args=("sh",),
                    rlimits=(Rlimit(type="RLIMIT_CORE", soft=0, hard=0),))

    def child() -> Any:
        backend.apply_rlimits(plan, other)
        return [os.getpid(), list(resource.getrlimit(resource.RLIMIT_NOFILE)),
                resource.getrlimit(resource.RLIMIT_CORE)[1] != 0]

    got = _in_child(child)
    assert "ok" in got, got
    pid, nofile, core_untouched = got["ok"]
    inf = 2**63 - 1
    assert sim.snapshot()["rlimits"][str(pid)] == {"8": [512, 1024], "14": [100, inf],
                                                   "10": [inf, inf]}
    assert [c[1:] for c in sim.snapshot()["calls"] if c[0] == "setrlimit"] == [
        [8, 512, 1024], [14, 100, inf], [10, inf, inf]]
    assert nofile == [512, 1024] and core_untouched  # the real process has the limit


def test_an_exec_process_files_limits_are_checked_and_set(
        backend: FreeBSDBackend, sim: SimulatedKernel) -> None:
    """exec has no plan: its process file's limits go through the same check as
    create's (a Linux-only limit is an error naming it) and the same numbers."""
    from pyocijail.spec.model import Process, Rlimit

    nice = Process(cwd="/", args=("sh",), rlimits=(Rlimit(type="RLIMIT_NICE", soft=1, hard=1),))
    got = _in_child(lambda: backend.apply_rlimits(None, nice))
    assert got["error"] == "ConfigError" and "RLIMIT_NICE does not exist on FreeBSD" in got["text"]
    umtxp = Process(cwd="/", args=("sh",),
                    rlimits=(Rlimit(type="RLIMIT_UMTXP", soft=5, hard=6),))
    got = _in_child(lambda: [os.getpid(), backend.apply_rlimits(None, umtxp)])
    assert sim.snapshot()["rlimits"][str(got["ok"][0])] == {"14": [5, 6]}


def test_setrlimit_as_kern_proc_setrlimit_answers(tmp_path: Path, log: RecordingLog) -> None:
    """sys/kern/kern_resource.c kern_proc_setrlimit through the fake libc: a number
    at RLIM_NLIMITS is EINVAL (RLIMIT_PIPEBUF 15 on 14.x, accepted on 15.0), a soft
    limit above the hard one is lowered to it, RLIMIT_NOFILE is clamped to
    kern.maxfilesperproc; the backend's error names the limit."""
    from pyocijail.spec.model import Process, Rlimit

    def limits(*items: tuple[str, int, int]) -> Process:
        return Process(cwd="/", args=("sh",), rlimits=tuple(
            Rlimit(type=t, soft=s, hard=h) for t, s, h in items))

    sim14 = SimulatedKernel.configure(str(tmp_path / "14.json"), maxfilesperproc=4096)
    bsd14 = FreeBSDBackend(SimulatedHostKernel(sim14.path), log)
    got = _in_child(lambda: bsd14.kernel.setrlimit(15, 1, 1))
    assert got["error"] == "KernelError" and got["errno"] == errno.EINVAL
    got = _in_child(lambda: [os.getpid(), bsd14.apply_rlimits(
        None, limits(("RLIMIT_NOFILE", 100000, 200000)))])
    assert sim14.snapshot()["rlimits"][str(got["ok"][0])] == {"8": [4096, 4096]}
    got = _in_child(lambda: [os.getpid(), bsd14.kernel.setrlimit(14, 9, 3)])
    assert sim14.snapshot()["rlimits"][str(got["ok"][0])] == {"14": [3, 3]}
    sim15 = SimulatedKernel.configure(str(tmp_path / "15.json"), release=15)
    bsd15 = FreeBSDBackend(SimulatedHostKernel(sim15.path), log)
    got = _in_child(lambda: [os.getpid(), bsd15.apply_rlimits(
        None, limits(("RLIMIT_PIPEBUF", 1 << 20, 1 << 21)))])
    assert "ok" in got, got
    assert sim15.snapshot()["rlimits"][str(got["ok"][0])] == {"15": [1 << 20, 1 << 21]}
    sim14.fail_next("setrlimit", errno.EPERM)
    got = _in_child(lambda: bsd14.apply_rlimits(None, limits(("RLIMIT_UMTXP", 1, 2))))
    assert got["errno"] == errno.EPERM and got["text"].startswith("setrlimit RLIMIT_UMTXP (1, 2)")
