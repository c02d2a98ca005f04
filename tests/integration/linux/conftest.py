"""Mount tests run in a forked child with its own private mount namespace.

Whatever a test mounts dies with the child, even when it fails; the parent
only gets a JSON report through a pipe. A session fixture checks that the
test process's own mount table is unchanged at the end.
"""

from __future__ import annotations

import os
import shutil

import pytest


def _mounts_under(prefix: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return sorted(line.split()[4] for line in f if line.split()[4].startswith(prefix))


@pytest.fixture(scope="session", autouse=True)
def host_mounts_unchanged(tmp_path_factory):
    """Nothing these tests make may stay mounted on the host.

    Only mounts under the tests' own temporary tree count: the machine is
    shared, and other processes may mount and unmount elsewhere meanwhile.
    """
    base = str(tmp_path_factory.getbasetemp())
    yield
    assert _mounts_under(base) == []


BUSYBOX_APPLETS = ("sh", "ls", "cat", "echo", "true")


@pytest.fixture
def busybox_rootfs(tmp_path):
    """A minimal rootfs: static busybox, a few applets, the usual directories."""
    if not os.path.exists("/bin/busybox"):
        pytest.skip("busybox-static not installed")
    rootfs = tmp_path / "rootfs"
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "run", "var"):
        (rootfs / d).mkdir(parents=True)
    shutil.copy2("/bin/busybox", rootfs / "bin/busybox")
    for applet in BUSYBOX_APPLETS:
        os.symlink("busybox", rootfs / "bin" / applet)
    (rootfs / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    return str(rootfs)
