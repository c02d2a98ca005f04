"""`mounts` on the recording kernel, without root: which mount(2) calls, in
which order, with which flags (tests/integration/linux/test_mounts.py checks
the same code on the real kernel, as root)."""

from __future__ import annotations

import errno
import os

import pytest

from pyocijail.backends.linux import mounts
from pyocijail.backends.linux.libc import (
    MS_BIND,
    MS_NODEV,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SHARED,
    MS_SLAVE,
)
from pyocijail.errors import KernelError
from pyocijail.spec.model import Mount
from pyocijail.testing.nskernel import RecordingNsKernel, UnexpectedCall


def _kernel() -> RecordingNsKernel:
    k = RecordingNsKernel()
    k.add_dir("/rootfs/etc")
    k.add_dir("/bundle/data")
    return k


def _mounts(k: RecordingNsKernel) -> list[tuple[object, ...]]:
    return [args for name, args in k.trace() if name == "mount"]


def test_a_bind_with_ro_is_a_bind_then_a_remount_keeping_the_flags_it_has():
    """rbind,ro,nosuid: first MS_BIND|MS_REC alone, then a remount with MS_RDONLY and
    MS_NOSUID added to the flags the mount already has (nodev, locked in a userns)."""
    k = _kernel()
    k.mount_flags["/rootfs/mnt"] = MS_NODEV
    created = mounts.mount_all(k, "/rootfs", [Mount(destination="/mnt", type="bind",
                                                    source="data",
                                                    options=("rbind", "ro", "nosuid"))],
                               "/bundle")
    assert created == ["/rootfs/mnt"]
    assert _mounts(k) == [
        ("/bundle/data", "/rootfs/mnt", None, MS_BIND | MS_REC, None),
        (None, "/rootfs/mnt", None, MS_NODEV | MS_RDONLY | MS_NOSUID | MS_BIND | MS_REMOUNT,
         None)]
    names = k.names()
    # the mount point is made before it is opened, the flags read before the remount
    assert names.index("ensure_mountpoint") < names.index("open_in_root")
    assert names.index("mount_flags_of") < len(names) - 1 - names[::-1].index("mount")
    assert k.open_fds() == []


def test_a_bind_without_flags_is_not_remounted():
    k = _kernel()
    mounts.mount_all(k, "/rootfs", [Mount(destination="/etc", type="bind", source="data",
                                          options=("bind",))], "/bundle")
    assert _mounts(k) == [("/bundle/data", "/rootfs/etc", None, MS_BIND, None)]
    assert "mount_flags_of" not in k.names()


def test_mounts_are_made_in_the_config_order_with_their_data():
    k = _kernel()
    mounts.mount_all(k, "/rootfs", [
        Mount(destination="/tmp", type="tmpfs", source="tmpfs", options=("nosuid", "size=1m")),
        Mount(destination="/dev/pts", type="devpts", source="devpts", options=("gid=5",))],
        "/bundle")
    assert _mounts(k) == [
        ("tmpfs", "/rootfs/tmp", "tmpfs", MS_NOSUID, "size=1m"),
        # devpts gets its own instance, usable by non-root users, as runc
        ("devpts", "/rootfs/dev/pts", "devpts", 0, "gid=5,newinstance,ptmxmode=0666")]


def test_a_propagation_option_is_a_mount_of_its_own_after_the_mount():
    k = _kernel()
    mounts.mount_all(k, "/rootfs", [Mount(destination="/etc", type="tmpfs", source="tmpfs",
                                          options=("rshared",))], "/bundle")
    assert _mounts(k)[-1] == (None, "/rootfs/etc", None, MS_SHARED | MS_REC, None)


def test_tmpcopyup_copies_into_a_writable_tmpfs_then_makes_it_read_only():
    k = _kernel()
    mounts.mount_all(k, "/rootfs", [Mount(destination="/etc", type="tmpfs", source="tmpfs",
                                          options=("tmpcopyup", "ro"))], "/bundle")
    calls = [(n, a) for n, a in k.trace() if n in ("mount", "copy_tree", "fchown")]
    assert [n for n, _ in calls] == ["mount", "fchown", "copy_tree", "mount"]
    assert calls[0][1][3] & MS_RDONLY == 0  # written first
    assert calls[-1][1][3] & (MS_RDONLY | MS_REMOUNT) == MS_RDONLY | MS_REMOUNT
    assert k.open_fds() == []


def test_root_propagation_is_rslave_recursively_by_default():
    k = RecordingNsKernel()
    mounts.set_root_propagation(k)
    mounts.set_root_propagation(k, "private")  # always recursive here (runc: not)
    assert _mounts(k) == [(None, "/", None, MS_SLAVE | MS_REC, None),
                          (None, "/", None, MS_PRIVATE | MS_REC, None)]


def test_bind_rootfs_makes_a_shared_parent_private_first():
    k = RecordingNsKernel()  # "/" is shared:1
    k.add_dir("/rootfs")
    mounts.bind_rootfs(k, "/rootfs")
    assert _mounts(k) == [(None, "/", None, MS_PRIVATE, None),
                          ("/rootfs", "/rootfs", None, MS_BIND | MS_REC, None)]


def test_bind_rootfs_leaves_a_private_parent_as_it_is():
    k = RecordingNsKernel(mountinfo=["1 0 8:1 / / rw - ext4 /dev/root rw"])
    k.add_dir("/rootfs")
    mounts.bind_rootfs(k, "/rootfs")
    assert _mounts(k) == [("/rootfs", "/rootfs", None, MS_BIND | MS_REC, None)]


def test_an_injected_mount_error_names_the_container_path():
    """The real code turns libc's KernelError on /proc/self/fd/N into one on the
    mount's destination; the fd is closed all the same."""
    k = _kernel()
    k.fail_next("mount", errno.EPERM)
    with pytest.raises(KernelError) as e:
        mounts.mount_all(k, "/rootfs", [Mount(destination="/tmp", type="tmpfs",
                                              source="tmpfs")], "/bundle")
    assert (e.value.op, e.value.errno, e.value.path) == ("mount", errno.EPERM, "/tmp")
    assert k.open_fds() == []


def test_a_refused_cgroup2_mount_binds_the_hosts_instead():
    k = _kernel()
    k.fail_next("mount", errno.EPERM)
    mounts.mount_all(k, "/rootfs", [Mount(destination="/sys/fs/cgroup", type="cgroup2",
                                          source="cgroup2")], "/bundle")
    assert _mounts(k) == [
        ("cgroup2", "/rootfs/sys/fs/cgroup", "cgroup2", 0, None),  # (refused)
        ("/sys/fs/cgroup/unified", "/rootfs/sys/fs/cgroup", None, MS_BIND | MS_REC, None)]


def test_a_missing_bind_source_is_a_stat_error():
    k = _kernel()
    with pytest.raises(KernelError) as e:
        mounts.mount_all(k, "/rootfs", [Mount(destination="/mnt", type="bind",
                                              source="/nowhere", options=("bind",))], "/b")
    assert (e.value.op, e.value.errno, e.value.path) == ("stat", errno.ENOENT, "/nowhere")
    assert "mount" not in k.names()


def test_the_double_refuses_what_the_code_must_not_do():
    k = RecordingNsKernel()
    with pytest.raises(UnexpectedCall):
        k.close(7)  # never opened
    with pytest.raises(UnexpectedCall):
        k.mount(None, "/", None, "ro", None)  # type: ignore[arg-type]
    with pytest.raises(UnexpectedCall):
        k.fail_next("frobnicate", errno.EPERM)
    fd = k.open("/", os.O_RDONLY)
    with pytest.raises(UnexpectedCall):
        k.move_mount(fd, fd)  # a file is no detached mount


LABEL = "system_u:object_r:container_file_t:s0:c1,c2"


def test_an_mqueue_mount_gets_the_selinux_label_on_its_root_not_a_context_option():
    """As runc (label.SetFileLabel): mqueue takes no context=, its root is labelled
    once mounted, through an fd of the new mount; a tmpfs takes the context=."""
    k = _kernel()
    mounts.mount_all(k, "/rootfs", [
        Mount(destination="/dev/mqueue", type="mqueue", source="mqueue",
              options=("nosuid", "nodev")),
        Mount(destination="/tmp", type="tmpfs", source="tmpfs")], "/bundle",
        mount_label=LABEL)
    assert _mounts(k) == [
        ("mqueue", "/rootfs/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV, None),
        ("tmpfs", "/rootfs/tmp", "tmpfs", 0, f'context="{LABEL}"')]
    trace = k.trace()
    labelled = [i for i, (n, _a) in enumerate(trace) if n == "label_file"]
    assert [trace[i] for i in labelled] == [("label_file", ("/rootfs/dev/mqueue", LABEL))]
    assert trace[labelled[0] - 1] == ("open_in_root", ("/rootfs", "/dev/mqueue",
                                                      os.O_RDONLY | os.O_DIRECTORY))
    assert trace.index(("mount", _mounts(k)[0])) < labelled[0]  # after the mount
    assert k.labels == {"/rootfs/dev/mqueue": LABEL}
    assert k.open_fds() == []


def test_without_a_label_an_mqueue_is_not_labelled():
    k = _kernel()
    mounts.mount_all(k, "/rootfs", [Mount(destination="/dev/mqueue", type="mqueue",
                                          source="mqueue")], "/bundle")
    assert "label_file" not in k.names() and k.labels == {}


def test_a_refused_mqueue_label_is_an_error_and_leaves_no_fd():
    k = _kernel()
    k.fail_next("label_file", errno.EOPNOTSUPP)
    with pytest.raises(KernelError) as e:
        mounts.mount_all(k, "/rootfs", [Mount(destination="/dev/mqueue", type="mqueue",
                                              source="mqueue")], "/bundle", mount_label=LABEL)
    assert (e.value.op, e.value.errno) == ("set SELinux label of mqueue", errno.EOPNOTSUPP)
    assert k.open_fds() == []
