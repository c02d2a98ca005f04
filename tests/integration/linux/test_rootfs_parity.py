"""Root propagation, unbindable mounts, tmpfs modes and loopback, as runc gives
them: real busybox containers through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from pyocijail.lifecycle.defaults import linux_config
from pyocijail.testing.clients.driver import Runtime

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def mountinfo(out: str) -> dict[str, list[str]]:
    """Container mountinfo text -> {mount point: optional fields} (the topmost)."""
    points = {}
    for line in out.splitlines():
        left = line.split(" - ")[0].split(" ")
        points[left[4]] = left[6:]
    return points


def with_mounts(bundle, args, extra=(), **linux):
    base = linux_config(["true"])
    section = dict(base["linux"], **linux)
    return bundle(args, linux=section, mounts=base["mounts"] + list(extra))


def run(runtime, b, cid):
    res = runtime("run", "--bundle", b, cid)
    assert res.code == 0, res
    return res.out


@pytest.mark.parametrize("propagation", ["shared", "rshared"])
def test_shared_rootfs_propagation_on_a_plain_directory(runtime, bundle, cid, propagation):
    """rootfsPropagation shared/rshared: create succeeds (the rootfs's parent mount
    is made private before the rootfs is bound and pivoted, as runc), and the
    container's mounts are there."""
    b = with_mounts(bundle, ["cat", "/proc/self/mountinfo"], rootfsPropagation=propagation)
    points = mountinfo(run(runtime, b, cid))
    assert {"/", "/proc", "/dev", "/sys"} <= set(points)


@pytest.fixture
def bound_runtime(runtime, workdir):
    """make(rootfs) -> a Runtime on the fixture's state root whose every call runs in a
    private mount namespace where `rootfs` is a bind mount of itself (podman's
    overlay rootfs is a mount point too); nothing is mounted on the host."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare(1)")

    def make(rootfs):
        wrapper = os.path.join(workdir, "in-private-ns")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec unshare -m --propagation private sh -c "
                    "'mount --bind \"$0\" \"$0\" && exec \"$@\"' "
                    f"{rootfs} {runtime.python} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        return Runtime(runtime.root, python=wrapper)

    return make


@pytest.mark.parametrize("propagation", ["shared", "rshared"])
def test_shared_rootfs_propagation_on_a_rootfs_that_is_a_mount_point(
        bound_runtime, bundle, cid, propagation):
    """The same with a rootfs that is already a mount point (it becomes shared with
    "/"; it is made private before the bind, so pivot_root accepts it)."""
    b = with_mounts(bundle, ["cat", "/proc/self/mountinfo"], rootfsPropagation=propagation)
    rt = bound_runtime(os.path.join(b, "rootfs"))
    res = rt("run", "--bundle", b, cid)
    assert res.code == 0, res
    assert {"/", "/proc", "/dev"} <= set(mountinfo(res.out))


UNBINDABLE = [{"destination": "/mnt/etc-unbindable", "type": "bind", "source": "/etc",
               "options": ["bind", "unbindable"]},
              {"destination": "/mnt/etc-runbindable", "type": "bind", "source": "/etc",
               "options": ["rbind", "runbindable"]}]


def test_unbindable_mounts_survive_on_a_plain_directory(runtime, bundle, cid):
    """`bind,unbindable` mounts are in the container's mountinfo, unbindable (the
    rootfs is bound onto itself before anything is mounted in it)."""
    b = with_mounts(bundle, ["cat", "/proc/self/mountinfo"], UNBINDABLE)
    points = mountinfo(run(runtime, b, cid))
    assert "unbindable" in points["/mnt/etc-unbindable"]
    assert "unbindable" in points["/mnt/etc-runbindable"]


def test_unbindable_rootfs_propagation(runtime, bundle, cid):
    """rootfsPropagation unbindable: create succeeds and the container's "/" is
    unbindable (runc fails this one: it cannot bind the rootfs)."""
    b = with_mounts(bundle, ["cat", "/proc/self/mountinfo"], rootfsPropagation="unbindable")
    points = mountinfo(run(runtime, b, cid))
    assert "unbindable" in points["/"]


def test_tmpfs_on_a_missing_mount_point_is_world_writable(runtime, bundle, cid):
    """A tmpfs (tmpcopyup, as podman's --tmpfs and --read-only /run) on a directory
    the image lacks is 1777, so a non-root user writes there; a mode= wins."""
    extra = [{"destination": "/cache", "type": "tmpfs", "source": "tmpfs",
              "options": ["rw", "nosuid", "nodev", "tmpcopyup"]},
             {"destination": "/plain", "type": "tmpfs", "source": "tmpfs", "options": []},
             {"destination": "/given", "type": "tmpfs", "source": "tmpfs",
              "options": ["tmpcopyup", "mode=0700"]}]
    b = with_mounts(bundle, ["sh", "-c", ("touch /cache/f /plain/f && stat -c %a /cache "
                             "/plain /given")], extra)
    with open(f"{b}/config.json") as f:
        doc = json.load(f)
    doc["process"]["user"] = {"uid": 1000, "gid": 1000}
    with open(f"{b}/config.json", "w") as f:
        json.dump(doc, f)
    assert run(runtime, b, cid).split() == ["1777", "1777", "700"]


def test_tmpfs_on_an_existing_directory_takes_its_mode(runtime, bundle, cid):
    """runc: a tmpfs over a directory the image has gets that directory's mode."""
    b = with_mounts(bundle, ["stat", "-c", "%a", "/data", "/data2"],
                    [{"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                      "options": []},
                     {"destination": "/data2", "type": "tmpfs", "source": "tmpfs",
                      "options": ["tmpcopyup"]}])
    for name in ("data", "data2"):
        os.mkdir(f"{b}/rootfs/{name}", 0o750)
        os.chmod(f"{b}/rootfs/{name}", 0o750)
    assert run(runtime, b, cid).split() == ["750", "750"]


# busybox nc exits as soon as the peer's side ends. The listener's stdin is
# /dev/null (an & job's), so it ends its side at once; a client reading a pipe
# (`echo hello | nc`) could take that EOF before `echo` wrote, and exit 0 having
# sent nothing. A regular file is readable at the client's first select, and
# nc reads stdin before the socket: "hello" is always sent.
LO_CHECK = ("cat /sys/class/net/lo/flags; echo hello > /tmp/msg; nc -l -p 7777 > /tmp/got & "
            "for i in $(seq 50); do nc -w 2 127.0.0.1 7777 < /tmp/msg 2>/dev/null && break; "
            "sleep 0.1; done; wait; cat /tmp/got")


def test_loopback_is_up_in_a_new_network_namespace(runtime, bundle, cid):
    """lo is UP (IFF_UP in its flags) and 127.0.0.1 answers, as under runc."""
    b = with_mounts(bundle, ["sh", "-c", LO_CHECK])
    flags, *rest = run(runtime, b, cid).split()
    assert int(flags, 16) & 1
    assert rest == ["hello"]


def test_loopback_of_a_joined_network_namespace_is_left_alone(runtime, bundle, cid):
    """A network namespace given by path is its owner's: lo stays as it was (down)."""
    holder = subprocess.Popen(["unshare", "-n", "sleep", "60"])
    try:
        path = f"/proc/{holder.pid}/ns/net"
        deadline = time.monotonic() + 5
        while os.stat(path).st_ino == os.stat("/proc/self/ns/net").st_ino:
            assert time.monotonic() < deadline, "unshare -n did not start"
            time.sleep(0.01)
        base = linux_config(["true"])
        section = dict(base["linux"])
        section["namespaces"] = [ns if ns["type"] != "network" else
                                 {"type": "network", "path": path}
                                 for ns in section["namespaces"]]
        b = bundle(["cat", "/sys/class/net/lo/flags"], linux=section, mounts=base["mounts"])
        flags = run(runtime, b, cid).split()
        assert not int(flags[0], 16) & 1
    finally:
        holder.kill()
        holder.wait()
