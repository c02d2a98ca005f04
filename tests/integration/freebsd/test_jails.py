"""The lifecycle on real jails: what each simulated FreeBSD test claims, on the kernel."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.integration.freebsd.conftest import Host, racct_enabled, rctl_rules, tool

pytestmark = pytest.mark.freebsd_host


def wait_status(host: Host, cid: str, status: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while host.runtime.status(cid) != status:
        assert time.monotonic() < deadline, f"{cid} never became {status}"
        time.sleep(0.05)


def test_create_start_exec_kill_delete(host: Host) -> None:
    """A jail exists from create to delete, runs the program in the rootfs, and goes."""
    cid = host.create(["/bin/sleep", "60"], hostname="web")
    assert host.runtime.status(cid) == "created"
    assert cid in tool("jls", "name").stdout.split()
    host.runtime.ok("start", cid)
    assert host.runtime.status(cid) == "running"
    assert host.exec_out(cid, "/bin/cat", "/etc/marker") == "inside the jail\n"
    assert host.exec_out(cid, "/bin/hostname") == "web\n"
    assert host.exec_out(cid, "/sbin/sysctl", "-n", "security.jail.jailed") == "1\n"
    host.runtime.ok("kill", cid, "TERM")
    wait_status(host, cid, "stopped")
    host.runtime.ok("delete", cid)
    assert cid not in tool("jls", "name").stdout.split()
    assert not host.leaks()


def test_ps_kill_all_pause_resume(host: Host) -> None:
    """ps lists every process of the jail; pause stops them; kill --all ends them."""
    cid = host.create(["/bin/sh", "-c", "sleep 60 & sleep 60"])
    host.runtime.ok("start", cid)
    deadline = time.monotonic() + 10
    while len(host.runtime.ok("ps", "--format", "json", cid).json()) < 3:
        assert time.monotonic() < deadline, "the jail never had its three processes"
        time.sleep(0.05)
    host.runtime.ok("pause", cid)
    assert host.runtime.status(cid) == "paused"
    host.runtime.ok("resume", cid)
    assert host.runtime.status(cid) == "running"
    host.runtime.ok("kill", "--all", cid, "KILL")
    wait_status(host, cid, "stopped")
    host.runtime.ok("delete", cid)


def test_pod_member_is_a_child_jail(host: Host) -> None:
    """A container naming a parent jail becomes `<parent>.<id>` under it."""
    infra = host.create(["/bin/sleep", "60"])
    host.runtime.ok("start", infra)
    member = host.create(["/bin/sleep", "60"],
                         annotations={"org.freebsd.parentJail": infra})
    host.runtime.ok("start", member)
    assert f"{infra}.{member}" in tool("jls", "name").stdout.split()
    host.runtime.ok("delete", "--force", member)
    assert f"{infra}.{member}" not in tool("jls", "name").stdout.split()
    host.runtime.ok("delete", "--force", infra)


def test_vnet_jail_gets_its_epair_and_gives_it_back(host: Host) -> None:
    """vnetInterfaces move into the jail at create and are on the host as soon as
    delete returns (`ifconfig <if> -vnet <jid>` before jail_remove, F8)."""
    made = tool("ifconfig", "epair", "create", check=False)
    if made.returncode != 0:
        pytest.skip(f"no epair(4) on this kernel: {made.stderr.strip()}")
    a = made.stdout.strip()
    b = a[:-1] + "b"
    try:
        doc_jail = {"jail": {"vnet": "new", "vnetInterfaces": [b]}}
        cid = host.create(["/bin/sleep", "60"], freebsd=doc_jail)
        host.runtime.ok("start", cid)
        assert b in host.exec_out(cid, "/sbin/ifconfig", "-l").split()
        assert b not in tool("ifconfig", "-l").stdout.split()
        host.runtime.ok("delete", "--force", cid)
        assert b in tool("ifconfig", "-l").stdout.split(), f"{b} is not back on the host"
    finally:
        tool("ifconfig", a, "destroy", check=False)


def test_devfs_ruleset_4_hides_host_devices(host: Host) -> None:
    """The default devfs (ruleset 4) shows null and zero but not mem or the disks."""
    cid = host.create(["/bin/sleep", "60"])
    host.runtime.ok("start", cid)
    names = host.exec_out(cid, "/bin/ls", "/dev").split()
    assert {"null", "zero", "fd"} <= set(names)
    assert not {"mem", "kmem", "io"} & set(names)
    host.runtime.ok("delete", "--force", cid)


def test_rctl_memory_limit_and_its_removal(host: Host) -> None:
    """linux.resources.memory becomes a jail rctl rule, removed at delete."""
    if not racct_enabled():
        pytest.skip("kern.racct.enable is 0 (RACCT/RCTL need it in /boot/loader.conf)")
    cid = host.create(["/bin/sleep", "60"],
                      linux={"resources": {"memory": {"limit": 256 << 20}}})
    assert f"jail:{cid}:memoryuse:deny=268435456" in rctl_rules()
    host.runtime.ok("delete", "--force", cid)
    assert not [r for r in rctl_rules() if f"jail:{cid}:" in r]


def test_cpuset_of_the_jail(host: Host) -> None:
    """linux.resources.cpu.cpus becomes the jail's cpuset."""
    cid = host.create(["/bin/sleep", "60"], linux={"resources": {"cpu": {"cpus": "0"}}})
    out = tool("cpuset", "-g", "-j", str(host.jid(cid))).stdout
    assert out.strip().endswith("mask: 0"), out
    host.runtime.ok("delete", "--force", cid)


def test_nullfs_directory_and_file_mounts(host: Host, tmp_path: Path) -> None:
    """A host directory (read-only) and a single host file are seen in the jail."""
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "data.txt").write_text("volume\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("10.0.0.1 web\n")
    mounts = [{"destination": "/dev", "type": "devfs", "source": "devfs",
               "options": ["ruleset=4"]},
              {"destination": "/data", "type": "nullfs", "source": str(volume),
               "options": ["ro"]},
              {"destination": "/etc/hosts", "type": "nullfs", "source": str(hosts)}]
    cid = host.create(["/bin/sleep", "60"], mounts=mounts)
    host.runtime.ok("start", cid)
    assert host.exec_out(cid, "/bin/cat", "/data/data.txt") == "volume\n"
    assert host.exec_out(cid, "/bin/cat", "/etc/hosts") == "10.0.0.1 web\n"
    res = host.runtime("exec", cid, "/bin/sh", "-c", "echo x > /data/new")
    assert res.code != 0  # read-only
    host.runtime.ok("delete", "--force", cid)
    assert hosts.read_text() == "10.0.0.1 web\n" and sorted(p.name for p in volume.iterdir()) \
        == ["data.txt"]


def test_state_reports_the_jid(host: Host) -> None:
    """state's annotations name the jail's jid, as jls sees it."""
    cid = host.create(["/bin/sleep", "60"])
    state = host.runtime.state(cid)
    assert state["annotations"]["org.freebsd.jail.jid"] == str(host.jid(cid))
    assert json.loads(host.runtime.ok("state", cid).out)["status"] == "created"
    host.runtime.ok("delete", "--force", cid)
