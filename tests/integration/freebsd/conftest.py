"""Real jails on a FreeBSD host, as root: what the simulated kernel stands in for.

Everything here talks to FreeBSD's own kernel and base tools, so it runs only on
FreeBSD as root and is skipped anywhere else (marker `freebsd_host`). It uses
the same bundle shape and the same CLI driver as the simulated lifecycle tests
(`tests/unit/freebsd/test_lifecycle_cli.py`), so a difference between the two
is a difference between the simulator and the kernel.

The rootfs is made from `/rescue`: FreeBSD's base tools as one static, crunched
binary that picks its tool from argv[0] (the base system's busybox), so no
package or image is needed. Each test uses ids of its own (`pjt<pid>-<n>`) and
checks, pass or fail, that no jail, mount or rctl rule of those ids is left.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyocijail.lifecycle.defaults import freebsd_config
from pyocijail.testing.clients.driver import Runtime

RESCUE = "/rescue/sh"
#: the tools the tests run inside the jail, all links to the one rescue binary
TOOLS = {"bin": ["sh", "sleep", "cat", "echo", "hostname", "ls", "ps", "id", "kill", "true"],
         "sbin": ["sysctl", "ifconfig", "mount"]}

_counter = itertools.count(1)


def tool(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A base tool on the host (jls, mount, rctl, ifconfig, cpuset, sysctl)."""
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


def jail_names() -> set[str]:
    """`jls name` prints one value a line, no header, when parameters are named."""
    return set(tool("jls", "name", check=False).stdout.split())


def mount_points() -> list[str]:
    return [line.split()[1] for line in tool("mount", "-p").stdout.splitlines() if line]


def rctl_rules() -> list[str]:
    res = tool("rctl", check=False)  # fails when RACCT/RCTL is disabled: no rules then
    return res.stdout.split() if res.returncode == 0 else []


def racct_enabled() -> bool:
    res = tool("sysctl", "-n", "kern.racct.enable", check=False)
    return res.returncode == 0 and res.stdout.strip() == "1"


def make_rootfs(path: Path) -> Path:
    """A jail root with the rescue binary and links named for each tool."""
    for d in ("bin", "sbin", "rescue", "dev", "etc", "tmp", "var/run", "data"):
        (path / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(RESCUE, path / "rescue/rescue")
    for folder, names in TOOLS.items():
        for name in names:
            os.symlink("/rescue/rescue", path / folder / name)
    (path / "etc/marker").write_text("inside the jail\n")
    (path / "tmp").chmod(0o1777)
    return path


class Host:
    """One test's bundles, state root and ids on the real host."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.rootfs = make_rootfs(workdir / "rootfs")
        self.runtime = Runtime(str(workdir / "state"))
        self.ids: list[str] = []

    def new_id(self) -> str:
        cid = f"pjt{os.getpid()}-{next(_counter)}"
        self.ids.append(cid)
        return cid

    def bundle(self, args: list[str], **overrides: Any) -> str:
        """A bundle sharing the one rootfs; `overrides` replace top-level keys."""
        doc = freebsd_config(args, terminal=False)
        doc["root"] = {"path": str(self.rootfs)}
        doc["process"]["env"] = ["PATH=/bin:/sbin"]
        doc.update(overrides)
        path = Path(tempfile.mkdtemp(prefix="bundle-", dir=self.workdir))
        (path / "config.json").write_text(json.dumps(doc))
        return str(path)

    def create(self, args: list[str], cid: str | None = None, **overrides: Any) -> str:
        cid = cid or self.new_id()
        bundle = self.bundle(args, **overrides)
        self.runtime.ok("create", "--bundle", bundle, "--pid-file", f"{bundle}/pid", cid)
        return cid

    def exec_out(self, cid: str, *argv: str) -> str:
        process = self.workdir / f"process-{next(_counter)}.json"
        process.write_text(json.dumps({"args": list(argv), "cwd": "/",
                                       "env": ["PATH=/bin:/sbin"],
                                       "user": {"uid": 0, "gid": 0}}))
        return self.runtime.ok("exec", "--process", str(process), cid).out

    def jid(self, name: str) -> int:
        return int(tool("jls", "-j", name, "jid").stdout.strip())

    def leaks(self) -> list[str]:
        """Jails, mounts and rctl rules of this test's ids that are still there."""
        found = [f"jail {n}" for n in jail_names()
                 if any(n == c or n.endswith(f".{c}") or n.startswith(f"{c}.")
                        for c in self.ids)]
        found += [f"mount {p}" for p in mount_points() if p.startswith(str(self.workdir))]
        found += [f"rctl {r}" for r in rctl_rules()
                  if any(f"jail:{c}:" in r or f".{c}:" in r for c in self.ids)]
        found += [f"state {c}" for c in self.runtime.ids()]
        return found


@pytest.fixture
def host() -> Iterator[Host]:
    workdir = Path(tempfile.mkdtemp(prefix="pyocijail-fbsd-"))
    h = Host(workdir)
    try:
        yield h
    finally:
        for cid in reversed(h.ids):  # children (pods) were created after their parent
            h.runtime("delete", "--force", cid)
        leaks = h.leaks()
        for point in sorted((p for p in mount_points() if p.startswith(str(workdir))),
                            key=len, reverse=True):
            tool("umount", "-f", point, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
        assert not leaks, f"left behind: {leaks}"
