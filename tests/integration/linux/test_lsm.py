"""LSM fields through the real CLI on this host (neither AppArmor nor SELinux):
a requested confinement is refused with one line naming the LSM, and nothing
is left; `features` says both are supported; the mount label reaches mount(2)."""

from __future__ import annotations

import json

import pytest

from pyocijail.backends.linux import libc, lsm, mounts
from pyocijail.backends.linux.linuxkernel import LinuxKernel
from pyocijail.spec.model import Mount
from tests.integration.linux.childns import run_in_child

pytestmark = [pytest.mark.root, pytest.mark.busybox]

absent = pytest.mark.skipif(lsm.apparmor_enabled() or lsm.selinux_enabled(),
                            reason="this host has an LSM enabled")


@absent
@pytest.mark.parametrize(("section", "key", "value", "lsm_name"), [
    ("process", "apparmorProfile", "containers-default-0.50.1", "AppArmor"),
    ("process", "selinuxLabel", "system_u:system_r:container_t:s0", "SELinux"),
    ("linux", "mountLabel", "system_u:object_r:container_file_t:s0", "SELinux"),
])
def test_confinement_refused_where_the_lsm_is_absent(runtime, bundle, cid, workdir,
                                                     section, key, value, lsm_name):
    """create fails: exit 1, one stderr line and one JSON log object naming the LSM;
    no state is left (the fixture checks mounts and cgroups too)."""
    b = bundle(["true"])
    with open(f"{b}/config.json") as f:
        doc = json.load(f)
    doc[section][key] = value
    with open(f"{b}/config.json", "w") as f:
        json.dump(doc, f)
    log = f"{workdir}/log.json"
    res = runtime("create", "--bundle", b, cid,
                  globals_=("--log", log, "--log-format", "json"))
    assert res.code == 1
    lines = res.err.splitlines()
    assert len(lines) == 1 and f"{lsm_name} is not enabled on this host" in lines[0], res
    with open(log) as f:
        entries = [json.loads(line) for line in f]
    assert len(entries) == 1 and lsm_name in entries[0]["msg"]
    assert not runtime.ids()


@absent
def test_exec_with_a_profile_refused_where_apparmor_is_absent(runtime, bundle, cid, workdir):
    """exec checks its process file the same way, before it forks."""
    b = bundle(["sleep", "30"])
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("start", cid)
    process = {"cwd": "/", "args": ["true"], "user": {"uid": 0, "gid": 0},
               "apparmorProfile": "containers-default-0.50.1"}
    with open(f"{workdir}/process.json", "w") as f:
        json.dump(process, f)
    res = runtime("exec", "--process", f"{workdir}/process.json", cid)
    assert res.code == 1 and "AppArmor is not enabled on this host" in res.err, res


def test_features_say_both_lsms_are_supported(runtime):
    """runtime-spec features: `enabled` means the runtime supports the LSM."""
    linux = runtime.ok("features").json()["linux"]
    assert linux["apparmor"] == {"enabled": True}
    assert linux["selinux"] == {"enabled": True}


def test_mount_label_is_passed_to_the_mounts_runc_labels(tmp_path):
    """mount_all gives `context="<label>"` to tmpfs and devpts, not to proc or a
    bind (recorded at libc.mount in a throw-away mount namespace: this host's
    kernel has no SELinux to accept the option)."""
    rootfs = tmp_path / "rootfs"
    for d in ("proc", "dev", "tmp", "etc"):
        (rootfs / d).mkdir(parents=True)

    def child():
        seen = []

        def record(source, target, fstype, flags=0, data=None):
            seen.append([fstype, data])

        libc.mount = record  # only in this child
        mounts.mount_all(LinuxKernel(), str(rootfs), [
            Mount(destination="/proc", type="proc", source="proc"),
            Mount(destination="/tmp", type="tmpfs", source="tmpfs", options=("mode=1777",)),
            Mount(destination="/dev/pts", type="devpts", source="devpts"),
            Mount(destination="/etc", type="bind", source="/etc", options=("rbind",)),
        ], str(tmp_path), mount_label="u:object_r:t:s0:c1,c2")
        return seen

    seen = dict((k, v) for k, v in run_in_child(child) if k)
    ctx = 'context="u:object_r:t:s0:c1,c2"'
    assert seen["proc"] is None
    assert seen["tmpfs"].endswith(",mode=1777," + ctx)
    assert ctx in seen["devpts"].split(",newinstance")[0]


def test_mount_label_is_given_to_the_cgroup_v1_tmpfs(tmp_path):
    """A `type: cgroup` mount on a v1/hybrid host: its tmpfs gets the label (runc),
    the binds of the hierarchies do not (recorded, as above)."""
    from pyocijail.backends.linux import cgroupmount, cgroups, mountopts

    groups = cgroups.directories("/pyocijail-label-test", cgroups.hierarchies())
    if not any(g.version == 1 for g in groups):
        pytest.skip("no cgroup v1 hierarchy on this host")
    rootfs = tmp_path / "rootfs"
    (rootfs / "sys/fs/cgroup").mkdir(parents=True)

    def child():
        seen = []

        def record(source, target, fstype, flags=0, data=None):
            seen.append([fstype, data])

        libc.mount = record  # only in this child
        cgroupmount.mount_cgroups(LinuxKernel(), None, str(rootfs), "/sys/fs/cgroup",
                                  mountopts.MountOptions(), groups, False, "u:object_r:t:s0")
        return seen

    seen = run_in_child(child)
    assert seen[0] == ["tmpfs", 'mode=755,context="u:object_r:t:s0"']
    assert all(data is None for _kind, data in seen[1:])
