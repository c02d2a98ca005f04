"""startContainer hooks run with the container process's privileges (finding 2, 6-hook).

The hook's path resolves in the container: it is the image's file. runc runs it
right before the execve, after the user change, the capability change and the
seccomp filter (libcontainer/standard_init_linux.go `Init`); run before them it
had uid 0, every capability and no filter.
"""

from __future__ import annotations

import json
import os

import pytest

from pyocijail.testing.clients.driver import reap

pytestmark = [pytest.mark.root, pytest.mark.busybox]

CAPS = ["CAP_NET_BIND_SERVICE"]  # kept across the user's execve as an ambient capability
CAP_EFF = f"{1 << 10:016x}"      # CAP_NET_BIND_SERVICE is bit 10
PROBE = "{ id -u; grep -E '^(CapEff|Seccomp):' /proc/self/status; }"
SECCOMP = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]}


def _image_hook(rootfs: str, body: str) -> None:
    """An image file at /hook, and /out where uid 1000 may write."""
    with open(os.path.join(rootfs, "hook"), "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(os.path.join(rootfs, "hook"), 0o755)
    os.mkdir(os.path.join(rootfs, "out"))
    os.chmod(os.path.join(rootfs, "out"), 0o777)


def _bundle(bundle, args, no_new_privileges):
    caps = {k: CAPS for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    return bundle(args, process={"user": {"uid": 1000, "gid": 1000}, "capabilities": caps,
                                 "noNewPrivileges": no_new_privileges},
                  hooks={"startContainer": [{"path": "/hook"}]})


def _fields(path: str) -> list[str]:
    with open(path) as f:
        return [" ".join(line.split()) for line in f.read().splitlines()]


@pytest.mark.parametrize("no_new_privileges", [True, False])
def test_start_container_hook_has_the_container_user_caps_and_seccomp(
        runtime, bundle, no_new_privileges):
    """The image's hook sees uid 1000, the container's CapEff and Seccomp 2 (filter
    loaded), exactly what the container's program sees, with or without
    noNewPrivileges (the filter is loaded at a different step for each)."""
    b = _bundle(bundle, ["sh", "-c", f"{PROBE} > /out/main"], no_new_privileges)
    rootfs = os.path.join(b, "rootfs")
    _image_hook(rootfs, f"{PROBE} > /out/hook")
    _add_seccomp(b)
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1")
    reap(pid)
    runtime.ok("delete", "c1")
    hook = _fields(os.path.join(rootfs, "out", "hook"))
    assert hook == ["1000", f"CapEff: {CAP_EFF}", "Seccomp: 2"]
    assert hook == _fields(os.path.join(rootfs, "out", "main"))


def test_failing_start_container_hook_fails_start_and_leaves_no_init(runtime, bundle):
    """A hook run as the container's user that fails still fails `start` with its
    words; the program never runs and the init is gone."""
    b = _bundle(bundle, ["sh", "-c", "touch /out/ran"], True)
    rootfs = os.path.join(b, "rootfs")
    _image_hook(rootfs, 'echo "hook refused as $(id -u)"; exit 3')
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    res = runtime("start", "c1")
    assert res.code == 1
    assert "startContainer hook /hook failed: exit status 3" in res.err
    assert "hook refused as 1000" in res.err
    assert len(res.err.strip().splitlines()) == 1
    assert reap(pid) is not None  # the init exited
    assert runtime.status("c1") == "stopped"
    assert not os.path.exists(os.path.join(rootfs, "out", "ran"))
    runtime.ok("delete", "c1")


def _add_seccomp(b: str) -> None:
    path = os.path.join(b, "config.json")
    with open(path) as f:
        doc = json.load(f)
    doc["linux"]["seccomp"] = SECCOMP
    with open(path, "w") as f:
        json.dump(doc, f)
