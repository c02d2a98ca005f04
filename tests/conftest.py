"""Fixtures: a temporary state root, busybox bundles, and a leak check; the markers' skips.

Tests run as root on a shared machine: every container a test makes is
removed with `delete --force` when it ends, pass or fail, and the test fails
if anything (state, process, host mount) was left behind.

A test that needs something of the machine says so with a marker (declared in
pyproject.toml: `@pytest.mark.root`, `busybox`, `linux`, `cgroup_v1`, `podman`,
`buildah`, `containerd`, `freebsd_host`); `pytest_collection_modifyitems` below
is the one place that decides, from the facts, which of them skip.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable

import pytest

from pyocijail.testing import bundles
from pyocijail.testing.clients.driver import Runtime, become_subreaper, reap_orphans
from tests.helpers import mount_points


def _programs(*names: str) -> Callable[[], str | None]:
    def missing() -> str | None:
        absent = [n for n in names if shutil.which(n) is None]
        return f"not installed: {', '.join(absent)}" if absent else None
    return missing


def _fact(holds: Callable[[], bool], reason: str) -> Callable[[], str | None]:
    return lambda: None if holds() else reason


#: marker -> why its tests skip here (None: the machine has what it needs). Checked in
#: this order, so a test needing root and podman says "needs root" first, as before.
MARKERS: dict[str, Callable[[], str | None]] = {
    "root": _fact(lambda: os.geteuid() == 0, "needs root (real namespaces and mounts)"),
    "linux": _fact(lambda: sys.platform.startswith("linux"), "needs Linux"),
    "freebsd_host": _fact(lambda: (sys.platform.startswith("freebsd") and os.geteuid() == 0
                                   and os.path.exists("/rescue/sh")),
                          "needs a FreeBSD host, root and /rescue (real jails)"),
    "podman": _programs("podman", "conmon"),
    "buildah": _programs("buildah"),
    "containerd": _programs("containerd", "ctr", "containerd-shim-runc-v2"),
    "busybox": _fact(bundles.busybox_available, "needs busybox-static (/bin/busybox)"),
    "cgroup_v1": _fact(lambda: os.path.isdir("/sys/fs/cgroup/memory"),
                       "written for a hybrid cgroup layout (a v1 memory hierarchy)"),
}

#: Fixtures that need a marker's facts: a test using one gets the markers too.
FIXTURE_MARKERS = {
    "podman_session": ("root", "podman", "busybox"),        # tests/e2e/conftest.py
    "buildah_session": ("root", "buildah", "busybox"),
    "containerd_session": ("root", "containerd", "busybox"),
    "busybox_rootfs": ("busybox",),                          # e2e/ and integration/linux/
    "make_host": ("root", "busybox"),                        # tests/reliability/conftest.py
    "cli_host": ("root", "busybox"),                         # reliability/test_hostile_input
}


@pytest.hookimpl(tryfirst=True)  # before `-m` selects: fixture-implied markers count
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip each test whose markers need what this machine lacks (MARKERS)."""
    reasons: dict[str, str | None] = {}
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            for name in FIXTURE_MARKERS.get(fixture, ()):
                if item.get_closest_marker(name) is None:
                    item.add_marker(name)
        for name, check in MARKERS.items():
            if item.get_closest_marker(name) is None:
                continue
            if name not in reasons:
                reasons[name] = check()
            reason = reasons[name]
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))
                break


def pytest_configure(config: pytest.Config) -> None:
    become_subreaper()  # container processes are reparented to us: we reap them


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="pyocijail-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def runtime(workdir):
    """A Runtime on a private state root; checks nothing leaks."""
    before = mount_points()
    rt = Runtime(os.path.join(workdir, "state"))
    yield rt
    reap_orphans()
    rt.cleanup()
    reap_orphans()
    leaked_mounts = {m for m in mount_points() - before if m.startswith(workdir)}
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
