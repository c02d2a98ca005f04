"""`devices.setup_devices` on the recording kernel, without root: the nodes and
links made in /dev as the spec and runc's defaults say, and what replaces mknod
where it is refused."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from pyocijail.backends.linux import devices
from pyocijail.backends.linux.libc import MS_BIND
from pyocijail.errors import KernelError
from pyocijail.spec.model import Device
from pyocijail.testing.nskernel import RecordingNsKernel

CHR = stat.S_IFCHR


def _kernel() -> RecordingNsKernel:
    k = RecordingNsKernel()
    k.add_dir("/rootfs/dev")
    return k


def _made(k: RecordingNsKernel, call: str) -> list[tuple[object, ...]]:
    return [args for name, args in k.trace() if name == call]


def test_the_default_nodes_then_the_default_links():
    k = _kernel()
    k.add_file("/proc/kcore")  # the host has one: /dev/core links to it
    created = devices.setup_devices(k, "/rootfs", [])
    assert _made(k, "mknod") == [
        (name, CHR | 0o666, os.makedev(major, minor), "/rootfs/dev")
        for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
                                   ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0))]
    assert _made(k, "symlink") == [
        ("/proc/self/fd", "fd", "/rootfs/dev"), ("/proc/self/fd/0", "stdin", "/rootfs/dev"),
        ("/proc/self/fd/1", "stdout", "/rootfs/dev"), ("/proc/self/fd/2", "stderr", "/rootfs/dev"),
        ("/proc/kcore", "core", "/rootfs/dev"), ("pts/ptmx", "ptmx", "/rootfs/dev")]
    names = k.names()
    # nodes with the umask at 0 (their modes exact), restored after; links after nodes
    assert k.calls[names.index("umask")] == ("umask", (0,))
    first_link = names.index("symlink")
    assert names.index("umask") < names.index("mknod")
    assert max(i for i, n in enumerate(names) if n == "mknod") < first_link
    assert [a for n, a in k.calls if n == "umask"][-1] == (0o022,)
    assert "/rootfs/dev/null" in created and "/rootfs/dev/ptmx" in created
    assert k.open_fds() == []


def test_no_dev_core_when_the_host_has_no_kcore():
    k = _kernel()
    devices.setup_devices(k, "/rootfs", [])
    assert "core" not in [a[1] for a in _made(k, "symlink")]


def test_a_config_device_with_its_type_mode_and_owner():
    k = _kernel()
    devices.setup_devices(k, "/rootfs", [Device(path="/dev/sda", type="b", major=8, minor=0,
                                                file_mode=0o640, uid=1, gid=6)],
                          default=False)
    assert _made(k, "mknod") == [("sda", stat.S_IFBLK | 0o640, os.makedev(8, 0), "/rootfs/dev")]
    assert _made(k, "chown") == [("sda", 1, 6, "/rootfs/dev")]
    assert _made(k, "symlink") == []


def test_a_device_already_there_is_kept_and_anything_else_is_replaced():
    """A /dev/null that is a link is replaced (CVE-2025-31133); a right /dev/zero stays."""
    k = _kernel()
    k.add_link("/rootfs/dev/null", "/etc/shadow")
    k.add_device("/rootfs/dev/zero", 1, 5)
    devices.setup_devices(k, "/rootfs", [])
    assert _made(k, "unlink") == [("null", "/rootfs/dev")]
    made = [a[0] for a in _made(k, "mknod")]
    assert "null" in made and "zero" not in made
    assert k.names().index("unlink") < k.names().index("mknod")


def test_without_cap_mknod_the_hosts_node_is_bound_on_a_file():
    """EPERM from mknod (a user namespace): an empty file is made and the host's
    device bound on it; no chown."""
    k = _kernel()
    k.fail_next("mknod", errno.EPERM)
    devices.setup_devices(k, "/rootfs", [Device(path="/dev/null", type="c", major=1,
                                                minor=3)], default=False)
    trace = k.trace()
    create = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    assert ("open", ("null", create, 0, "/rootfs/dev")) in trace
    assert _made(k, "mount") == [("/dev/null", "/rootfs/dev/null", None, MS_BIND, None)]
    assert _made(k, "chown") == []
    assert k.open_fds() == []


def test_an_injected_error_is_a_kernel_error_on_the_container_path():
    k = _kernel()
    k.fail_next("mknod", errno.ENOSPC)  # (EPERM, EACCES: a PermissionError, bound instead)
    with pytest.raises(KernelError) as e:
        devices.setup_devices(k, "/rootfs", [])
    assert (e.value.op, e.value.errno, e.value.path) == ("mknod", errno.ENOSPC, "/dev/null")
    assert k.mask == 0o022  # restored
    assert k.open_fds() == []
    k = _kernel()
    k.fail_next("symlink", errno.EROFS)
    with pytest.raises(KernelError) as e:
        devices.setup_devices(k, "/rootfs", [])
    assert (e.value.op, e.value.errno, e.value.path) == ("symlink", errno.EROFS, "/dev/fd")
    assert k.open_fds() == []
