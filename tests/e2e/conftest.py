"""Fixtures for the real clients: an isolated podman and buildah, a private containerd.

Start-up (temp config, image import, daemon) is per session; each test gets
a leak check: when it ends, no container of the client, no runtime state
dir, no mount under the temp dir, no process of the session and no new
cgroup may be left. Whatever is left is removed, then the test errors.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from pyocijail.testing import bundles
from tests.helpers import IMAGE


def _reap_zombie_children(keep: set[int]) -> None:
    """Reap our zombie children (conmon, shims reparented to this subreaper).

    Only zombies and never the pids in `keep` (Popen objects still in use),
    so no subprocess loses its exit status.
    """
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in keep:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if fields[0] == "Z" and fields[1] == me:
            try:
                os.waitpid(int(entry), os.WNOHANG)
            except ChildProcessError:
                pass


@pytest.fixture(scope="session")
def busybox_rootfs():
    path = tempfile.mkdtemp(prefix="pyocijail-e2e-rootfs-")
    bundles.make_rootfs(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


# -- podman -------------------------------------------------------------------------


def _client_session(client, rootfs, stop):
    """Import the busybox image into a client (podman, buildah, containerd), hand it to
    the session; at the end stop it and fail if anything of it is left."""
    try:
        client.import_rootfs(rootfs, IMAGE)
        yield client
    finally:
        problems = stop()
        _reap_zombie_children(set())
        assert not problems, problems


@pytest.fixture(scope="session")
def podman_session(busybox_rootfs):
    from pyocijail.testing.clients.podman import PodmanEnv

    env = PodmanEnv.create(tempfile.mkdtemp(prefix="pyocijail-e2e-podman-"))
    yield from _client_session(env, busybox_rootfs, env.teardown)


@pytest.fixture
def podman(podman_session):
    """The session's podman; fails the test if it leaves anything behind."""
    env = podman_session
    snap = env.host_snapshot()
    yield env
    _check_clean(env, snap)


def _check_clean(env, snap):
    """Fail the test if it left anything; remove it first, so the next test starts clean
    (the runtime's own leftovers too: a client killed mid-run leaves its container)."""
    remaining = env.container_ids()
    if remaining:
        env.remove_all_containers()
    _reap_zombie_children(set())
    left = snap.wait_clean((env.state,))
    if remaining:
        left["client containers"] = remaining
    if left:
        left["runtime containers deleted afterwards"] = env.delete_runtime_leftovers()
        _reap_zombie_children(set())
    assert not left, f"left behind: {left}"


# -- buildah ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def buildah_session(busybox_rootfs):
    from pyocijail.testing.clients.buildah import BuildahEnv

    env = BuildahEnv.create(tempfile.mkdtemp(prefix="pyocijail-e2e-buildah-"))
    yield from _client_session(env, busybox_rootfs, env.teardown)


@pytest.fixture
def buildah(buildah_session):
    """The session's buildah; fails the test if it leaves anything behind (its working
    containers included: a test removes the ones it makes)."""
    env = buildah_session
    snap = env.host_snapshot()
    yield env
    _check_clean(env, snap)
    cgroups = env.our_cgroups()
    assert not cgroups, f"left behind: cgroups {sorted(cgroups)}"


# -- containerd ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def containerd_session(busybox_rootfs):
    from pyocijail.testing.clients.containerd import Containerd

    daemon = Containerd.start(tempfile.mkdtemp(prefix="pyocijail-e2e-ctrd-"))
    yield from _client_session(daemon, busybox_rootfs, daemon.stop)


@pytest.fixture
def containerd(containerd_session):
    d = containerd_session
    snap = d.host_snapshot()
    yield d
    keep = {d.proc.pid} if d.proc else set()
    remaining = d.ctr("container", "ls", "-q").out.split()
    if remaining:
        d.remove_all()
    _reap_zombie_children(keep)
    left = snap.wait_clean(d.state_roots())
    if remaining:
        left["client containers"] = remaining
    assert not left, f"left behind: {left}"
