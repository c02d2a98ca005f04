"""Pure parts of the cgroup code: layout discovery, paths, resource writes."""

from __future__ import annotations

import pytest

from pyocijail.backends.linux import cgroups, resources
from pyocijail.backends.linux.cgroups import Cgroup
from pyocijail.errors import ConfigError
from pyocijail.spec import model

HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
99 23 0:32 /sub /mnt/memory-again rw,relatime - cgroup cgroup rw,memory
"""


def test_hierarchies_from_mountinfo_once_each(tmp_path):
    """v1 controllers and named hierarchies; a second mount of one hierarchy is skipped."""
    path = tmp_path / "mountinfo"
    path.write_text(HYBRID)
    hs = cgroups.hierarchies(str(path))
    assert [(h.mountpoint, h.controllers) for h in hs] == [
        ("/sys/fs/cgroup/cpu", ("cpu",)), ("/sys/fs/cgroup/memory", ("memory",)),
        ("/sys/fs/cgroup/systemd", ("name=systemd",))]
    assert cgroups.layout(hs) == "v1"


@pytest.mark.parametrize("given, expected", [
    (None, "/pyocijail/c1"),
    ("/libpod_parent/libpod-c1", "/libpod_parent/libpod-c1"),
    ("machine.slice:libpod:c1", "/machine.slice/libpod-c1.scope"),
    ("a-b-c.slice:pfx:c1", "/a.slice/a-b.slice/a-b-c.slice/pfx-c1.scope"),
    (":pfx:c1", "/system.slice/pfx-c1.scope"),
    ("-.slice::c1", "/c1.scope"),
    ("a.slice:x:a-b.slice", "/a.slice/a-b.slice"),
    ("rel/path", "rel/path"),
])
def test_cgroup_path(given, expected):
    assert cgroups.cgroup_path(given, "c1") == expected


@pytest.mark.parametrize("bad", ["/a/../b", "/", "nota:slice:c1", "a--b.slice:p:c1"])
def test_bad_cgroup_paths(bad):
    with pytest.raises(ConfigError):
        cgroups.cgroup_path(bad, "c1")


def test_relative_paths_are_under_our_own_cgroup():
    hs = [cgroups.Hierarchy("/sys/fs/cgroup/memory", "/", 1, ("memory",)),
          cgroups.Hierarchy("/sys/fs/cgroup/unified", "/", 2, ("hugetlb",))]
    groups = cgroups.directories("ctr", hs, own={"memory": "/user/1", "": "/u2"})
    assert [g.dir for g in groups] == ["/sys/fs/cgroup/memory/user/1/ctr",
                                       "/sys/fs/cgroup/unified/u2/ctr"]


def _groups(version):
    if version == 1:
        return [Cgroup(f"/cg/{c}/x", 1, (c,), f"/cg/{c}")
                for c in ("memory", "cpu", "cpuset", "pids", "devices", "blkio")]
    return [Cgroup("/cg/x", 2, ("memory", "cpu", "cpuset", "pids", "io", "hugetlb"), "/cg")]


def test_v1_writes():
    res = model.Resources(memory=model.Memory(limit=100, swap=200, swappiness=5),
                          cpu=model.Cpu(shares=512, quota=-1, period=1000, cpus="0-1"),
                          pids=model.Pids(limit=0))
    w = [(d.split("/")[2], f, v) for d, f, v in resources.writes(res, _groups(1))]
    assert w == [("memory", "memory.limit_in_bytes", "100"),
                 ("memory", "memory.memsw.limit_in_bytes", "200"),
                 ("memory", "memory.swappiness", "5"),
                 ("cpu", "cpu.shares", "512"), ("cpu", "cpu.cfs_period_us", "1000"),
                 ("cpu", "cpu.cfs_quota_us", "-1"), ("cpuset", "cpuset.cpus", "0-1"),
                 ("pids", "pids.max", "max")]


def test_v2_writes_convert_like_runc():
    res = model.Resources(memory=model.Memory(limit=100, swap=300, reservation=50),
                          cpu=model.Cpu(shares=1024, quota=5000, period=10000),
                          pids=model.Pids(limit=7),
                          hugepage_limits=(model.HugepageLimit(page_size="2MB", limit=0),))
    w = [(f, v) for _, f, v in resources.writes(res, _groups(2))]
    assert w == [("memory.low", "50"), ("memory.max", "100"), ("memory.swap.max", "200"),
                 ("cpu.weight", "39"), ("cpu.max", "5000 10000"), ("pids.max", "7"),
                 ("hugetlb.2MB.max", "0")]


def test_v2_refuses_v1_only_settings():
    with pytest.raises(ConfigError, match="swappiness"):
        resources.writes(model.Resources(memory=model.Memory(swappiness=1)), _groups(2))


def test_v2_device_rules_are_an_ebpf_program_not_a_file_write():
    """On cgroup v2 the device rules write no file: the plan's device filter holds them."""
    res = model.Resources(devices=(model.DeviceRule(allow=False),))
    assert resources.writes(res, _groups(2)) == []
    directory, rules = resources.device_filter(res, _groups(2))
    assert directory == "/cg/x" and rules[0] == (False, "a") and (True, "c 1:3 rwm") in rules
    assert resources.device_filter(res, _groups(1)) is None


def test_missing_controller_is_a_config_error():
    with pytest.raises(ConfigError, match="hugetlb"):
        resources.writes(model.Resources(hugepage_limits=(
            model.HugepageLimit(page_size="2MB", limit=1),)), _groups(1))


def test_device_rules_end_with_runcs_defaults_and_configured_devices():
    rules = resources.device_rules(
        (model.DeviceRule(allow=False, access="rwm"),
         model.DeviceRule(allow=True, type="c", major=4, minor=None, access="rw")),
        (model.Device(type="c", path="/dev/fuse", major=10, minor=229),))
    assert rules[:2] == [(False, "a"), (True, "c 4:* rw")]
    assert (True, "c 1:3 rwm") in rules and (True, "c 136:* rwm") in rules
    assert rules[-1] == (True, "c 10:229 rwm")


def test_update_refuses_device_rules():
    with pytest.raises(ConfigError, match="device"):
        resources.writes(model.Resources(devices=(model.DeviceRule(allow=True),)),
                         _groups(1), update=True)


def test_default_parent_depends_on_the_state_root():
    """Two state roots never share a default cgroup: ids are unique only per root."""
    from pyocijail import DEFAULT_ROOT

    assert cgroups.cgroup_path(None, "c1", DEFAULT_ROOT) == "/pyocijail/c1"
    a = cgroups.cgroup_path(None, "c1", "/tmp/a")
    b = cgroups.cgroup_path(None, "c1", "/tmp/b")
    assert a != b and a.startswith("/pyocijail-") and a.endswith("/c1")
