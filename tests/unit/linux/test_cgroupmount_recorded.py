"""`type: cgroup` mounts on the recording kernel, without root, from a recorded
host cgroup layout (its mountinfo and the links in its /sys/fs/cgroup):
`cgroupmount.mount_cgroups` (the container's own cgroup, as runc) and the
default rbind of `mounts.mount_all`."""

from __future__ import annotations

from pyocijail.backends.linux import cgroupmount, mounts
from pyocijail.backends.linux.cgroups import Cgroup
from pyocijail.backends.linux.libc import (
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
)
from pyocijail.backends.linux.mountopts import check_mount
from pyocijail.spec.model import Mount
from pyocijail.testing.nskernel import RecordingNsKernel

SAFE = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME  # (the options of CGROUP)
CGROUP = Mount(destination="/sys/fs/cgroup", type="cgroup", source="cgroup",
               options=("nosuid", "noexec", "nodev", "relatime", "ro"))
#: A hybrid host (systemd's default before v2): v1 hierarchies in this mount order.
HYBRID = ["1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw",
          "30 1 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro",
          "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw",
          "32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,name=systemd",
          "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu",
          "34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:13 - cgroup cgroup rw,memory"]


def _v1(name: str, version: int = 1) -> Cgroup:
    point = f"/sys/fs/cgroup/{name}"
    return Cgroup(dir=f"{point}/ctr", version=version, controllers=(name,), mountpoint=point)


def _hybrid_host() -> RecordingNsKernel:
    k = RecordingNsKernel(mountinfo=HYBRID)
    for name in ("unified", "systemd", "cpu,cpuacct", "memory"):
        k.add_dir(f"/sys/fs/cgroup/{name}/ctr")
    k.add_link("/sys/fs/cgroup/cpu", "cpu,cpuacct")
    k.add_link("/sys/fs/cgroup/cpuacct", "cpu,cpuacct")
    k.add_link("/sys/fs/cgroup/elsewhere", "/opt/cg")  # not a sibling: not copied
    k.add_dir("/rootfs/sys/fs/cgroup")
    return k


def _mounts(k: RecordingNsKernel) -> list[tuple[object, ...]]:
    return [args for name, args in k.trace() if name == "mount"]


def test_v1_a_tmpfs_then_each_hierarchy_bound_in_host_order_then_links_then_read_only():
    k = _hybrid_host()
    groups = [_v1("memory"), _v1("unified", 2), _v1("systemd"), _v1("cpu,cpuacct")]
    cgroupmount.mount_cgroups(k, None, "/rootfs", "/sys/fs/cgroup", check_mount(CGROUP),
                              groups, False)
    binds = SAFE | MS_RDONLY | MS_BIND | MS_REMOUNT
    assert _mounts(k) == [
        ("tmpfs", "/rootfs/sys/fs/cgroup", "tmpfs", SAFE, "mode=755"),
        # the host's mount order, not the plan's; cgroup2 ("unified") not shown, as runc
        ("/sys/fs/cgroup/systemd/ctr", "/rootfs/sys/fs/cgroup/systemd", None, MS_BIND, None),
        (None, "/rootfs/sys/fs/cgroup/systemd", None, binds, None),
        ("/sys/fs/cgroup/cpu,cpuacct/ctr", "/rootfs/sys/fs/cgroup/cpu,cpuacct", None, MS_BIND,
         None),
        (None, "/rootfs/sys/fs/cgroup/cpu,cpuacct", None, binds, None),
        ("/sys/fs/cgroup/memory/ctr", "/rootfs/sys/fs/cgroup/memory", None, MS_BIND, None),
        (None, "/rootfs/sys/fs/cgroup/memory", None, binds, None),
        (None, "/rootfs/sys/fs/cgroup", None, MS_REMOUNT | MS_RDONLY | SAFE, "mode=755")]
    links = [a for n, a in k.trace() if n == "symlink"]
    assert links == [("cpu,cpuacct", "cpu", "/rootfs/sys/fs/cgroup"),
                     ("cpu,cpuacct", "cpuacct", "/rootfs/sys/fs/cgroup")]
    names = k.names()
    # the host's directory read once, after the binds; the tmpfs made read-only last
    assert names.count("list_symlinks") == 1
    assert k.calls[names.index("list_symlinks")] == ("list_symlinks", ("/sys/fs/cgroup",))
    last_bind = max(i for i, (n, a) in enumerate(k.calls) if n == "mount" and a[3] == MS_BIND)
    assert last_bind < names.index("list_symlinks") < names.index("symlink")
    assert names[::-1].index("symlink") > names[::-1].index("mount")
    assert k.open_fds() == []


def test_v1_the_tmpfs_takes_the_selinux_label_and_an_unreadable_host_dir_copies_no_link():
    k = _hybrid_host()
    k.fail_next("list_symlinks", 13)  # EACCES: no links, no error (as before the seam)
    label = "system_u:object_r:container_file_t:s0"
    opts = check_mount(Mount(destination="/sys/fs/cgroup", type="cgroup", source="cgroup"))
    cgroupmount.mount_cgroups(k, None, "/rootfs", "/sys/fs/cgroup", opts, [_v1("memory")],
                              False, label)
    assert _mounts(k)[0] == ("tmpfs", "/rootfs/sys/fs/cgroup", "tmpfs", 0,
                             f'mode=755,context="{label}"')
    assert "symlink" not in k.names() and "readlink" not in k.names()
    assert _mounts(k)[-1][3] == MS_BIND  # not read-only: no remount
    assert k.open_fds() == []


def test_v2_binds_the_containers_own_directory_or_mounts_cgroup2_in_a_new_namespace():
    own = Cgroup(dir="/sys/fs/cgroup/ctr", version=2, controllers=("memory",),
                 mountpoint="/sys/fs/cgroup")
    k = RecordingNsKernel()
    k.add_dir("/rootfs/sys/fs/cgroup")
    cgroupmount.mount_cgroups(k, None, "/rootfs", "/sys/fs/cgroup", check_mount(CGROUP),
                              [own], False)
    assert _mounts(k) == [
        ("/sys/fs/cgroup/ctr", "/rootfs/sys/fs/cgroup", None, MS_BIND, None),
        (None, "/rootfs/sys/fs/cgroup", None, SAFE | MS_RDONLY | MS_BIND | MS_REMOUNT, None)]
    k = RecordingNsKernel()
    k.add_dir("/rootfs/sys/fs/cgroup")
    cgroupmount.mount_cgroups(k, None, "/rootfs", "/sys/fs/cgroup", check_mount(CGROUP),
                              [own], True)
    assert _mounts(k) == [("cgroup2", "/rootfs/sys/fs/cgroup", "cgroup2", SAFE | MS_RDONLY,
                           None)]
    assert "list_symlinks" not in k.names() and k.open_fds() == []


def test_without_a_cgroup_mount_function_the_hosts_tree_is_rbound_and_each_submount_remounted():
    """`mounts._cgroup`: the destination resolved in the root (for the mountinfo
    match), then every mount under it gets the flags too."""
    k = RecordingNsKernel(mountinfo=[
        *HYBRID,
        "40 1 0:26 / /rootfs/sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro",
        "41 40 0:30 / /rootfs/sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory"])
    k.add_dir("/rootfs/sys/fs/cgroup/memory")  # (what the rbind shows)
    mounts.mount_all(k, "/rootfs", [CGROUP], "/bundle")
    assert ("resolve_in_root", ("/rootfs", "/sys/fs/cgroup")) in k.calls
    assert _mounts(k)[0] == ("/sys/fs/cgroup", "/rootfs/sys/fs/cgroup", None, MS_BIND | MS_REC,
                             None)
    remounted = [a[1] for a in _mounts(k)[1:]]
    assert remounted == ["/rootfs/sys/fs/cgroup", "/rootfs/sys/fs/cgroup/memory"]
    assert all(a[3] & (SAFE | MS_RDONLY | MS_REMOUNT) == SAFE | MS_RDONLY | MS_REMOUNT
               for a in _mounts(k)[1:])
    assert k.open_fds() == []
