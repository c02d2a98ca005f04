"""Shared machinery of the reliability suite: failpoint registry, test hosts, leak checks.

A `Host` is one backend's world for one test: a state root, a bundle whose
container runs `sleep 1000` with a hook at every stage, and the CLI driven
as conmon would drive it. Every process the runtime or the container starts
carries a per-test token in its environment, so a leaked process is found by
a /proc scan however it got there (runtime, init, exec'd process, hook).
`leaks()` lists everything that is left: state, processes, host mounts,
cgroups, and on the simulated FreeBSD kernel jails, mounts, rctl rules,
aliases, vnet interfaces, cpusets and mount points.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from pyocijail.testing import bundles
from pyocijail.testing.clients.driver import (
    Result,
    Runtime,
    reap_orphans,  # the tests use it from here
)
from pyocijail.testing.clients.hostcheck import read_bytes

ROOT = Path(__file__).resolve().parents[2]

# What the tests found, for the summary conftest.py prints at the end of the session:
#: (backend, failpoint, fired, what state said, leaks) per crash case
CRASHES: list[tuple[str, str, bool, str, list[str]]] = []
#: generated hostile-input cases per property
CASES: dict[str, int] = {}
#: other suites' leak findings: (test, leaks)
LEAKS: list[tuple[str, list[str]]] = []

PROGRAM = ["sleep", "1000"]
TOKEN_VAR = "PYOCIJAIL_TEST_TOKEN"
HOOK_STAGES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
               "poststop")
#: which operation runs each hook stage
HOOK_OP = {"prestart": "create", "createRuntime": "create", "createContainer": "create",
           "startContainer": "start", "poststart": "start", "poststop": "delete"}
LEGAL = {"creating", "created", "running", "stopped"}

_POINT = re.compile(r"""failpoint\((f?)"([^"]+)"\)""")


# --- the registry -------------------------------------------------------------------

def registry() -> list[str]:
    """Every failpoint name in the package source (f-string stages expanded)."""
    names: set[str] = set()
    for path in sorted((ROOT / "pyocijail").rglob("*.py")):
        if path.name == "failpoints.py":
            continue
        for is_f, name in _POINT.findall(path.read_text()):
            if is_f:
                assert name == "hook.{stage}", f"{path}: unknown failpoint pattern {name}"
                names.update(f"hook.{s}" for s in HOOK_STAGES)
            else:
                names.add(name)
    return sorted(names)


def operation(point: str) -> str:
    """The CLI command whose run reaches `point`."""
    head, _, rest = point.partition(".")
    return HOOK_OP[rest] if head == "hook" else head


def armed_by(point: str) -> str:
    """The operation whose environment arms `point`: the init process is forked by
    create, so its points at start time are armed when it is created."""
    if point.startswith("start.init.") or point == "hook.startContainer":
        return "create"
    return operation(point)


def backends_of(point: str) -> tuple[str, ...]:
    if ".linux." in point:
        return ("linux",)
    if ".freebsd." in point:
        return ("freebsd",)
    return ("linux", "freebsd")


# --- processes ----------------------------------------------------------------------



def cmdline(pid: int) -> list[str]:
    args = read_bytes(f"/proc/{pid}/cmdline").split(b"\0")
    return [a.decode(errors="replace") for a in args if a]


def alive(pid: int) -> bool:
    """Exists and is not a zombie (or exiting)."""
    data = read_bytes(f"/proc/{pid}/stat")
    if not data:
        return False
    fields = data[data.rfind(b")") + 2:].split()
    return fields[0] not in (b"Z", b"X") and not int(fields[6]) & 0x4


def token_processes(token: str, inside: str | None = None) -> list[int]:
    """Live processes with `token` in their environment or cwd/root under `inside`."""
    needle = f"{TOKEN_VAR}={token}".encode()
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        hit = needle in read_bytes(f"/proc/{pid}/environ").split(b"\0")
        if not hit and inside:
            for link in ("cwd", "root"):
                try:
                    where = os.readlink(f"/proc/{pid}/{link}")
                except OSError:
                    continue
                if where == inside or where.startswith(inside.rstrip("/") + "/"):
                    hit = True
        if hit and alive(pid):
            found.append(pid)
    return found


def host_mounts_under(prefix: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return sorted(p for p in (line.split()[4] for line in f)
                      if p == prefix or p.startswith(prefix.rstrip("/") + "/"))


def cgroups_of(cid: str) -> list[str]:
    """The Linux backend's cgroups for `cid`, if it makes any (v2 and v1 layouts)."""
    # /pyocijail/<id>, or /pyocijail-<hash of the state root>/<id> for other roots
    return sorted(set(glob.glob(f"/sys/fs/cgroup/pyocijail*/{glob.escape(cid)}")
                      + glob.glob(f"/sys/fs/cgroup/*/pyocijail*/{glob.escape(cid)}")))


def tree(path: Path) -> list[str]:
    out = []
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            out.append(os.path.relpath(os.path.join(top, name), path))
    return sorted(out)


def one_clean_line(res: Result) -> bool:
    """A failure reported as runc does: exit 1, one line on stderr, no traceback."""
    lines = res.err.strip().splitlines()
    return (res.code == 1 and len(lines) == 1 and "Traceback" not in res.err
            and lines[0].startswith("pyocijail: "))


# --- test hosts ---------------------------------------------------------------------

class Host:
    """One backend, one state root, one bundle; conmon-like CLI calls."""

    backend = "?"

    def __init__(self, workdir: Path) -> None:
        self.work = workdir
        self.token = uuid.uuid4().hex
        # unique on the shared machine: cgroups are checked by id
        self.cid = f"rel-{self.token[:12]}"
        self.bundle = workdir / "bundle"
        self.rootfs = self.bundle / "rootfs"
        self.record = workdir / "failpoints.log"
        env = dict(os.environ)
        for var in ("PYOCIJAIL_FAILPOINT", "PYOCIJAIL_FAILPOINT_RECORD"):
            env.pop(var, None)
        env[TOKEN_VAR] = self.token
        self.env = env
        self.rt = Runtime(str(workdir / "state"), env=env)
        self.ids_used: set[str] = set()

    # the container every test uses
    def hooks(self) -> dict[str, Any]:
        hook = {"path": "/bin/true", "args": ["true"], "env": [f"{TOKEN_VAR}={self.token}"],
                "timeout": 10}
        return {stage: [hook] for stage in HOOK_STAGES}

    def process_env(self) -> list[str]:
        return ["PATH=/bin:/usr/bin", f"{TOKEN_VAR}={self.token}"]

    def write_config(self, doc: dict[str, Any]) -> None:
        (self.bundle / "config.json").write_text(json.dumps(doc))

    def base_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def extra_bundle(self, name: str) -> Path:
        """A bundle for one more container running at the same time."""
        return self.bundle

    # the CLI
    def cli(self, *args: str, failpoint: str | None = None, timeout: float = 60) -> Result:
        env = dict(self.env)
        if failpoint:
            env["PYOCIJAIL_FAILPOINT"] = failpoint
            env["PYOCIJAIL_FAILPOINT_RECORD"] = str(self.record)
        return self.rt(*args, env=env, timeout=timeout, cwd=str(self.work))

    def ok(self, *args: str) -> Result:
        res = self.cli(*args)
        assert res.code == 0, f"pyocijail {' '.join(args)}: {res}"
        return res

    def fired(self) -> list[str]:
        try:
            return [line.split()[0] for line in self.record.read_text().splitlines()]
        except FileNotFoundError:
            return []

    def create(self, cid: str, *extra: str, failpoint: str | None = None) -> Result:
        self.ids_used.add(cid)
        return self.cli("create", "--bundle", str(self.bundle), "--pid-file",
                        str(self.work / f"{cid}.pid"), *extra, cid, failpoint=failpoint)

    # facts
    def state_dirs(self) -> list[str]:
        return self.rt.ids()

    def leaks(self, grace: float = 3.0) -> list[str]:
        """Everything tests of this host left behind (empty = clean)."""
        deadline = time.monotonic() + grace
        while True:
            reap_orphans()
            procs = token_processes(self.token, str(self.bundle))
            if not procs or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        found = [f"state dir {d}" for d in self.state_dirs()]
        found += [f"process {p} {cmdline(p)}" for p in procs]
        found += [f"host mount {m}" for m in host_mounts_under(str(self.work))]
        for cid in sorted(self.ids_used):
            found += [f"cgroup {c}" for c in cgroups_of(cid)]
        found += self.backend_leaks()
        return found

    def backend_leaks(self) -> list[str]:
        return []

    def force_clean(self) -> None:
        """Best effort for the fixture finalizer: nothing of ours may survive a failure."""
        for cid in self.state_dirs():
            self.cli("delete", "--force", cid)
        for pid in token_processes(self.token, str(self.bundle)):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        for m in reversed(host_mounts_under(str(self.work))):
            os.system(f"umount -l '{m}'")
        reap_orphans()


class LinuxHost(Host):
    backend = "linux"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        bundles.make_rootfs(str(self.rootfs))
        self.write_config(self.base_config())
        self.outside = sorted(p for p in tree(workdir) if not p.startswith("bundle/rootfs"))

    def base_config(self) -> dict[str, Any]:
        doc = bundles.config(list(PROGRAM))
        doc["process"]["env"] = self.process_env()
        doc["hooks"] = self.hooks()
        return doc

    def backend_leaks(self) -> list[str]:
        return []


class FreeBSDHost(Host):
    """The FreeBSD backend on the simulated kernel (shared by every runtime call)."""

    backend = "freebsd"

    def __init__(self, workdir: Path) -> None:
        from pyocijail.testing import simhost
        from pyocijail.testing.simkernel import SimulatedKernel

        super().__init__(workdir)
        for d in ("bin", "dev", "etc", "tmp"):
            (self.rootfs / d).mkdir(parents=True)
        shutil.copy(bundles.BUSYBOX, self.rootfs / "bin/busybox")
        for tool in ("sh", "sleep", "cat", "echo", "true"):
            os.symlink("busybox", self.rootfs / "bin" / tool)
        (self.rootfs / "etc/marker").write_text("inside the rootfs\n")
        (workdir / "hosts").write_text("10.0.0.1 web\n")
        self.sim = SimulatedKernel.configure(str(workdir / "sim.json"), racct=True)
        # Every runtime call is the CLI over the simulated host (no switch in product code).
        self.rt.program = simhost.argv(self.sim.path)
        self.rt.env = self.env
        self.write_config(self.base_config())
        self.rootfs_before = tree(self.rootfs)
        self.extra: list[Path] = []

    def base_config(self) -> dict[str, Any]:
        return {"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "hostname": "web",
                "process": {"args": ["/bin/sleep", "1000"], "cwd": "/",
                            "env": self.process_env(), "user": {"uid": 0, "gid": 0}},
                "mounts": [{"destination": "/dev", "type": "devfs", "source": "devfs",
                            "options": ["ruleset=4"]},
                           {"destination": "/dev/fd", "type": "fdescfs", "source": "fdesc"},
                           {"destination": "/etc/hosts", "type": "nullfs",
                            "source": str(self.work / "hosts")},
                           {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                            "options": ["tmpcopyup"]}],
                "annotations": {"org.freebsd.jail.vnet": "new"},
                "linux": {"resources": {"memory": {"limit": 1 << 28}}},
                "hooks": self.hooks()}

    def extra_bundle(self, name: str) -> Path:
        """A bundle with its own rootfs copy: jail mounts are made on the host's rootfs,
        so containers running at once cannot share one (podman gives each its own)."""
        bundle = self.work / f"bundle-{name}"
        shutil.copytree(self.bundle, bundle, symlinks=True)
        self.extra.append(bundle / "rootfs")
        return bundle

    def backend_leaks(self) -> list[str]:
        snap = self.sim.snapshot()
        found = []
        for key in ("jails", "mounts", "rctl", "aliases", "vnet_ifaces", "cpusets"):
            if snap[key]:
                found.append(f"simulated {key}: {snap[key]}")
        for rootfs in (self.rootfs, *self.extra):
            now = tree(rootfs)
            if now != self.rootfs_before:
                extra = sorted(set(now) - set(self.rootfs_before))
                gone = sorted(set(self.rootfs_before) - set(now))
                found.append(f"rootfs {rootfs} changed: +{extra} -{gone}")
        return found

    def force_clean(self) -> None:
        super().force_clean()
        snap = self.sim.snapshot()
        for jail in snap["jails"].values():
            try:
                self.sim.jail_remove(jail["jid"])
            except Exception:  # noqa: BLE001 - best effort
                pass


HOSTS = {"linux": LinuxHost, "freebsd": FreeBSDHost}


def _is_program(pid: int) -> bool:
    argv = cmdline(pid)
    return len(argv) == 2 and argv[0].endswith("sleep") and argv[1] == "1000"


def check_state(host: Host, cid: str) -> str:
    """`state` after the crash: a legal status that matches the facts, or one clean error."""
    res = host.cli("state", cid)
    if res.code != 0:
        assert one_clean_line(res), f"state after the crash: {res}"
        return "gone" if "does not exist" in res.err else "error"
    state = res.json()
    status = state["status"]
    assert status in LEGAL, state
    pid = state.get("pid", 0)
    if status == "creating":
        pytest.fail(f"state says creating, but no create is running: {state}")
    elif status == "created":
        assert pid > 0 and alive(pid), f"created, but the init is gone: {state}"
        assert not _is_program(pid), f"created, but the program already runs: {state}"
    elif status == "running":
        deadline = time.monotonic() + 5  # start may have been killed just before the exec
        while not _is_program(pid):
            assert alive(pid), f"running, but process {pid} is gone: {state}"
            assert time.monotonic() < deadline, f"running, but {pid} never exec'd: {state}"
            time.sleep(0.02)
    else:  # stopped: nothing of the container may still run
        deadline = time.monotonic() + 5
        while True:
            reap_orphans()
            live = [p for p in token_processes(host.token)
                    if cmdline(p)[:1] != ["true"]]  # a hook finishing
            if not live:
                break
            assert time.monotonic() < deadline, (
                f"state says stopped, but container processes run: "
                f"{[(p, cmdline(p)) for p in live]}")
            time.sleep(0.05)
    return status
