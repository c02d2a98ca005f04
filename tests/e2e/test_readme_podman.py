"""README.md's podman commands, run as written, and the isolation they promise."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

from pyocijail.testing import bundles
from pyocijail.testing.clients.hostcheck import cgroup_dirs, remove_cgroups, unmount_under
from tests.helpers import CHECKOUT, VENV_BIN, readme_block

pytestmark = [
    pytest.mark.root, pytest.mark.podman, pytest.mark.busybox,
    pytest.mark.skipif(not os.access(os.path.join(VENV_BIN, "python"), os.X_OK),
                       reason="README step 1's .venv is not in this checkout"),
]


@pytest.fixture
def private_tmp():
    """A TMPDIR for the README's commands; afterwards it must be empty, and whatever a
    failure left (mounts, podman's cgroups) is removed."""
    tmp = tempfile.mkdtemp(prefix="pj-")  # short: podman refuses a runroot over 50 chars
    cgroups = cgroup_dirs()
    yield tmp
    unmount_under(tmp)
    remove_cgroups(cgroup_dirs() - cgroups)  # podman's libpod_parent/conmon, made on use
    shutil.rmtree(tmp, ignore_errors=True)


def _env(tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "CONTAINERS_"))}
    env["TMPDIR"] = tmp
    return env


def _mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path)]


def test_the_private_podman_block_runs_as_written(private_tmp):
    """"Use with podman"'s first block: a container runs through pyocijail with a private
    configuration and storage, and its last line removes it all."""
    block = readme_block("### Use with podman")
    res = subprocess.run(["sh", "-ec", block], cwd=CHECKOUT, env=_env(private_tmp),
                         stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-2000:])
    assert "hello from pyocijail" in res.stdout
    assert "/pyocijail " in res.stdout  # podman info: the runtime is the private launcher
    assert os.listdir(private_tmp) == [] and _mounts_under(private_tmp) == []


def test_the_podmanenv_snippet_leaves_nothing(private_tmp):
    """"Trying it without touching the machine": the snippet runs with the venv's python,
    prints hello, and leaves no temporary directory (the rootfs included)."""
    snippet = readme_block("### Trying it without touching the machine", fence="```python")
    res = subprocess.run([os.path.join(VENV_BIN, "python"), "-c", snippet], cwd=CHECKOUT,
                         env=_env(private_tmp), capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "hello" in res.stdout
    assert os.listdir(private_tmp) == []


def test_podmanenv_keeps_image_copies_and_the_blob_info_cache_its_own(private_tmp):
    """PodmanEnv's import writes the blob-info cache under its own directory, not
    /var/lib/containers/cache, and its containers.conf sends image copies to its tmp."""
    from pyocijail.testing.clients.podman import PodmanEnv

    env = PodmanEnv.create(os.path.join(private_tmp, "env"))
    try:
        env.import_rootfs(bundles.make_rootfs(os.path.join(env.base, "rootfs")),
                          "localhost/bb:latest")
        assert os.listdir(os.path.join(env.base, "blob-info-cache")) == [
            "blob-info-cache-v1.boltdb"]
        with open(os.path.join(env.base, "conf", "containers.conf")) as f:
            assert f'image_copy_tmp_dir = "{env.base}/tmp"' in f.read()
    finally:
        # (cgroups other sessions' podman made meanwhile may show up as not removed)
        problems = env.teardown()
        assert not [p for p in problems if not p.startswith("cgroup not removed")], problems
