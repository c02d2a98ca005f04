"""`pivot` and `LinuxBackend.enter` on the recording kernel, without root: the
pivot_root sequence, read-only and masked paths made from fds, and their order.

The double does not change root at pivot_root: the container's paths are added
to its tree as they are seen after it ("/proc/kcore", "/dev/null")."""

from __future__ import annotations

import errno
import os
from types import SimpleNamespace

import pytest

from pyocijail.backends.linux import pivot
from pyocijail.backends.linux.backend import LinuxBackend
from pyocijail.backends.linux.libc import (
    AT_RECURSIVE,
    MNT_DETACH,
    MOUNT_ATTR_RDONLY,
    MS_BIND,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SLAVE,
    MS_UNBINDABLE,
    OPEN_TREE_CLONE,
)
from pyocijail.errors import KernelError
from pyocijail.testing.nskernel import RecordingNsKernel

DIR = os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, text: str) -> None:
        self.lines.append(text)


def _container() -> RecordingNsKernel:
    k = RecordingNsKernel(mountinfo=["1 0 8:1 / / rw - ext4 /dev/root rw",
                                     "2 1 8:1 / /rootfs rw - ext4 /dev/root rw"])
    k.add_dir("/rootfs")
    k.add_dir("/proc/sys")
    k.add_dir("/proc/acpi")
    k.add_file("/proc/kcore")
    k.add_device("/dev/null", 1, 3)
    return k


def test_pivot_root_sequence():
    """pivot_root(".", ".") from the new root, then the old root (stacked on "/",
    reached by our fd of it) is made rslave before its lazy unmount."""
    k = _container()
    pivot.pivot_root(k, "/rootfs", bound=True)
    assert k.trace() == [
        ("open", ("/", DIR, 0o777, None)),
        ("open", ("/rootfs", DIR, 0o777, None)),
        ("fchdir", ("/rootfs",)),
        ("pivot_root", (".", ".")),
        ("fchdir", ("/",)),
        ("mount", (None, ".", None, MS_SLAVE | MS_REC, None)),
        ("umount2", (".", MNT_DETACH)),
        ("chdir", ("/",)),
        ("close", ("/rootfs",)),
        ("close", ("/",)),
    ]


def test_pivot_root_binds_a_rootfs_that_is_no_mount_point_first():
    k = _container()
    k.mountinfo_lines = k.mountinfo_lines[:1]
    pivot.pivot_root(k, "/rootfs")
    assert k.trace()[:2] == [("mountinfo", ()),
                             ("mount", ("/rootfs", "/rootfs", None, MS_BIND | MS_REC, None))]
    assert k.names().index("pivot_root") > 1


def test_an_injected_pivot_root_error_is_raised_and_no_fd_is_left():
    k = _container()
    k.fail_next("pivot_root", errno.EINVAL)
    with pytest.raises(KernelError) as e:
        pivot.pivot_root(k, "/rootfs", bound=True)
    assert (e.value.op, e.value.errno) == ("pivot_root", errno.EINVAL)
    assert "umount2" not in k.names()
    assert k.open_fds() == []


def test_a_readonly_path_is_a_recursive_clone_made_read_only_then_attached():
    k = _container()
    pivot.readonly_paths(k, ["/proc/sys"])
    assert k.trace() == [
        ("open_in_root", ("/", "/proc/sys", os.O_PATH)),
        ("open_tree", ("/proc/sys", OPEN_TREE_CLONE | AT_RECURSIVE)),
        ("mount_setattr", ("clone of /proc/sys", MOUNT_ATTR_RDONLY)),
        ("move_mount", ("clone of /proc/sys", "/proc/sys")),
        ("close", ("clone of /proc/sys",)),
        ("close", ("/proc/sys",)),
    ]


def test_masks_a_directory_with_a_read_only_tmpfs_and_a_file_with_dev_null():
    k = _container()
    pivot.mask_paths(k, ["/proc/acpi", "/proc/kcore", "/proc/missing"], mount_label="l")
    moves = [args for name, args in k.trace() if name == "move_mount"]
    assert moves == [("new tmpfs (ro)", "/proc/acpi"), ("clone of /dev/null", "/proc/kcore")]
    assert ("fsmount_new", ("tmpfs", "tmpfs", True, "l")) in k.calls
    assert ("open_in_root", ("/", "/dev/null", os.O_PATH | os.O_NOFOLLOW)) in k.calls
    assert k.open_fds() == []


def test_a_dev_null_that_is_not_1_3_is_never_bound():
    k = _container()
    k.add_device("/dev/null", 1, 5)  # replaced by /dev/zero's numbers
    with pytest.raises(KernelError, match="not the character device 1:3"):
        pivot.mask_paths(k, ["/proc/kcore"])
    assert "move_mount" not in k.names()
    assert k.open_fds() == []


def test_a_missing_path_the_host_has_is_an_error_not_a_skip():
    k = _container()
    k.fail_next("open_in_root", errno.ENOENT)
    with pytest.raises(KernelError, match="although the host has it") as e:
        pivot.mask_paths(k, ["/proc/kcore"], expected=frozenset({"/proc/kcore"}))
    assert e.value.errno == errno.ENOENT
    pivot.mask_paths(k, ["/proc/nothing"])  # missing on both: skipped


def test_an_injected_move_mount_error_names_the_path():
    k = _container()
    k.fail_next("move_mount", errno.EPERM)
    with pytest.raises(KernelError) as e:
        pivot.readonly_paths(k, ["/proc/sys"])
    assert (e.value.op, e.value.errno, e.value.path) == ("mount", errno.EPERM, "/proc/sys")
    assert k.open_fds() == []


def test_remount_readonly_root_keeps_the_flags_it_has():
    k = _container()
    k.mount_flags["/"] = MS_NOSUID
    pivot.remount_readonly_root(k)
    pivot.make_root_unbindable(k)
    assert [a for n, a in k.calls if n == "mount"] == [
        (None, "/", None, MS_NOSUID | MS_RDONLY | MS_BIND | MS_REMOUNT, None),
        (None, "/", None, MS_UNBINDABLE | MS_REC, None)]


def _plan(**fields: object) -> SimpleNamespace:
    plan = dict(rootfs="/rootfs", sysctl={}, readonly_paths=("/proc/sys",),
                masked_paths=("/proc/kcore", "/proc/acpi"), mount_label=None,
                readonly=False, rootfs_propagation=None)
    return SimpleNamespace(**{**plan, **fields})


def test_enter_makes_read_only_paths_before_masked_ones_and_the_root_read_only_last():
    """runc's order: a path both read-only and masked ends up masked."""
    k = _container()
    backend = LinuxBackend(k, _Log())
    backend.enter(_plan(readonly=True, rootfs_propagation="unbindable"))  # type: ignore[arg-type]
    steps = [(n, a[-1]) for n, a in k.trace() if n == "move_mount"]
    assert steps == [("move_mount", "/proc/sys"), ("move_mount", "/proc/kcore"),
                     ("move_mount", "/proc/acpi")]
    names = k.names()
    assert names.index("pivot_root") < names.index("move_mount")
    mounts = [a for n, a in k.calls if n == "mount"]
    assert mounts[-2][3] & (MS_RDONLY | MS_REMOUNT) == MS_RDONLY | MS_REMOUNT
    assert mounts[-1] == (None, "/", None, MS_UNBINDABLE | MS_REC, None)
    assert names.index("move_mount") < names.index("mount_flags_of")
    assert k.open_fds() == []
