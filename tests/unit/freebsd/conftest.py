"""Fixtures for the FreeBSD backend: a small rootfs, bundles, a simulated host."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pyocijail.backends.freebsd.backend import FreeBSDBackend
from pyocijail.spec.convert import spec_from_json
from pyocijail.spec.model import Spec
from pyocijail.testing.freebsd_undo import MemoryUndoLog
from pyocijail.testing.simhost import SimulatedHostKernel
from pyocijail.testing.simkernel import SimulatedKernel


class RecordingLog:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.debugs: list[str] = []
        self.errors: list[str] = []

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)

    def debug(self, msg: str) -> None:
        self.debugs.append(msg)

    def error(self, msg: str) -> None:
        self.errors.append(msg)


def make_rootfs(root: Path) -> Path:
    """A few dirs, files and links: enough of an image to resolve mounts in."""
    for d in ("etc", "dev", "tmp", "bin", "var/run", "proc", "sys", "usr/share"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n")
    (root / "etc/hostname").write_text("image\n")
    os.symlink("/var/run/resolv.conf", root / "etc/resolv.conf")  # re-rooted, missing
    (root / "bin/sh").write_text("#!/bin/sh\n")
    (root / "bin/sh").chmod(0o755)
    (root / "tmp/seed").write_text("copied up\n")
    return root


def make_host(host: Path) -> Path:
    """Files podman keeps in the container's userdata dir, and a volume."""
    host.mkdir(parents=True, exist_ok=True)
    for name, text in (("hosts", "10.88.0.2 web\n"), ("resolv.conf", "nameserver 10.88.0.1\n"),
                       ("hostname", "web\n"), (".containerenv", "engine=podman\n")):
        (host / name).write_text(text)
    (host / "volume").mkdir(exist_ok=True)
    (host / "volume/data.txt").write_text("volume\n")
    return host


def base_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "ociVersion": "1.3.0",
        "root": {"path": "rootfs"},
        "process": {"args": ["/bin/sh"], "cwd": "/", "env": ["PATH=/bin"],
                    "user": {"uid": 0, "gid": 0}},
        "hostname": "web",
        "mounts": [],
    }
    config.update(overrides)
    return config


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    bundle = tmp_path / "bundle"
    make_rootfs(bundle / "rootfs")
    state = tmp_path / "state" / "c1"
    state.mkdir(parents=True)
    return {"tmp": tmp_path, "bundle": bundle, "rootfs": bundle / "rootfs",
            "host": make_host(tmp_path / "host"), "state": state}


@pytest.fixture
def log() -> RecordingLog:
    return RecordingLog()


@pytest.fixture
def sim(tmp_path: Path) -> SimulatedKernel:
    """A host set up for containers: kern.racct.enable=1 in loader.conf (GENERIC's
    default, off, is what `SimulatedKernel.configure` gives without racct=True)."""
    return SimulatedKernel.configure(str(tmp_path / "sim.json"), racct=True)


@pytest.fixture
def backend(sim: SimulatedKernel, log: RecordingLog) -> FreeBSDBackend:
    """The real LibcKernel, over the fake libc and tools in front of `sim`."""
    return FreeBSDBackend(SimulatedHostKernel(sim.path), log)


@pytest.fixture
def planner(log: RecordingLog) -> FreeBSDBackend:
    return FreeBSDBackend(None, log)  # type: ignore[arg-type]


def spec_of(config: dict[str, Any]) -> Spec:
    return spec_from_json(config)


def plan_of(backend: FreeBSDBackend, layout: dict[str, Path], config: dict[str, Any],
            cid: str = "c1") -> Any:
    (layout["bundle"] / "config.json").write_text(json.dumps(config))
    return backend.plan(cid, spec_of(config), str(layout["bundle"]), str(layout["state"]))


def tree(path: Path) -> dict[str, str]:
    """Every entry under `path` with its type and content, to compare before/after."""
    out = {}
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            p = Path(top) / name
            rel = str(p.relative_to(path))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = "file:" + p.read_text()
    return out


def assert_clean(sim: SimulatedKernel) -> None:
    state = sim.snapshot()
    assert state["jails"] == {}
    assert state["mounts"] == []
    assert state["rctl"] == []
    assert state["aliases"] == {}
    assert state["vnet_ifaces"] == {}
    assert state["cpusets"] == {}


__all__ = ["MemoryUndoLog", "RecordingLog", "assert_clean", "base_config", "plan_of", "tree"]
