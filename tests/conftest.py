"""Fixtures: a temporary state root, busybox bundles, and a leak check.

Tests run as root on a shared machine: every container a test makes is
removed with `delete --force` when it ends, pass or fail, and the test fails
if anything (state, process, host mount) was left behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from pyocijail.testing import bundles
from pyocijail.testing.clients.driver import Runtime, become_subreaper, reap_orphans

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root (real namespaces and mounts)")
needs_busybox = pytest.mark.skipif(not bundles.busybox_available(),
                                   reason="needs busybox-static (/bin/busybox)")


def pytest_configure(config: pytest.Config) -> None:
    become_subreaper()  # container processes are reparented to us: we reap them


def _mounts() -> set[str]:
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="pyocijail-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def runtime(workdir):
    """A Runtime on a private state root; checks nothing leaks."""
    before = _mounts()
    rt = Runtime(os.path.join(workdir, "state"))
    yield rt
    reap_orphans()
    rt.cleanup()
    reap_orphans()
    leaked_mounts = {m for m in _mounts() - before if m.startswith(workdir)}
    for m in sorted(leaked_mounts, reverse=True):
        os.system(f"umount -l {m!r}")
    assert not rt.ids(), f"delete --force left state behind: {rt.ids()}"
    assert not leaked_mounts, f"host mounts left behind: {leaked_mounts}"


@pytest.fixture
def bundle(workdir):
    """make(args, **overrides) -> bundle path with a fresh busybox rootfs."""
    count = [0]

    def make(args, **overrides):
        count[0] += 1
        return bundles.make_bundle(os.path.join(workdir, f"bundle{count[0]}"), list(args),
                                   **overrides)

    return make
