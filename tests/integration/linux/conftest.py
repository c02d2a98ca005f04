"""Mount tests run in a forked child with its own private mount namespace.

Whatever a test mounts dies with the child, even when it fails; the parent
only gets a JSON report through a pipe. A session fixture checks that the
test process's own mount table is unchanged at the end.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.integration.linux.cgroupfs import cgroup_leftovers


def _mount_table(ours: tuple[str, ...]) -> list[str]:
    """Mounts under the temporary directories this session uses (the machine is
    shared: other sessions mount and unmount elsewhere, e.g. podman's overlays)."""
    with open("/proc/self/mountinfo") as f:
        lines = f.read().splitlines()
    return sorted(line for line in lines if line.split(" ")[4].startswith(ours))


@pytest.fixture(scope="session", autouse=True)
def host_mounts_unchanged(tmp_path_factory):
    """Nothing the suite does may stay mounted on the host."""
    ours = (str(tmp_path_factory.getbasetemp()), "/tmp/pyocijail-test-")
    before = _mount_table(ours)
    yield
    assert _mount_table(ours) == before


BUSYBOX_APPLETS = ("sh", "ls", "cat", "echo", "true")


@pytest.fixture
def busybox_rootfs(tmp_path):
    """A minimal rootfs: static busybox, a few applets, the usual directories."""
    rootfs = tmp_path / "rootfs"
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "run", "var"):
        (rootfs / d).mkdir(parents=True)
    shutil.copy2("/bin/busybox", rootfs / "bin/busybox")
    for applet in BUSYBOX_APPLETS:
        os.symlink("busybox", rootfs / "bin" / applet)
    (rootfs / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    return str(rootfs)


_COUNTER = [0]


@pytest.fixture
def cid(runtime):
    """A container id unique on this machine; after the test every container is
    deleted and no cgroup named after the id may remain in any hierarchy."""
    _COUNTER[0] += 1
    name = f"l4t{os.getpid()}x{_COUNTER[0]}"
    yield name
    runtime.cleanup()
    left = cgroup_leftovers(name)
    for path in sorted(left, key=len, reverse=True):
        try:
            os.rmdir(path)
        except OSError:
            pass
    assert not left, f"cgroups left behind: {left}"
