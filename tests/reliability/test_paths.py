"""Mount destinations and cwd are resolved inside the rootfs, whatever the image holds.

The rootfs carries hostile links (absolute ones to a host directory, `..`
chains, loops). Every escape attempt must land inside the rootfs, the host
directory must stay empty, and a loop must fail create with one clean line.
Linux for real (openat2 RESOLVE_IN_ROOT), FreeBSD on the simulated kernel.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from tests.reliability import harness


def _plant(host: harness.Host) -> str:
    """Hostile links in the rootfs; returns the host directory they aim at."""
    target = host.work / "hostdir"
    target.mkdir()
    r = host.rootfs
    os.symlink(str(target), r / "to_host")
    os.symlink("../" * 12, r / "up")
    os.symlink("..", r / "dotdot")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    os.symlink("/", r / "etc" / "evil")
    if isinstance(host, harness.FreeBSDHost):
        host.rootfs_before = harness.tree(host.rootfs)  # the links are the image's
    return str(target)


def _escapes(h: str) -> dict[str, str]:
    return {
        "absolute link": "/to_host/m1",
        "relative link up": f"/up{h}/m2",
        "dot-dot": f"/../../../..{h}/m3",
        "dot-dot links": f"/dotdot/dotdot/dotdot{h}/m4",
        "link to /": f"/etc/evil{h}/m5",
        "link then dot-dot": f"/to_host/../../../../../..{h}/m6",
    }


def _config(host: harness.Host, destinations, cwd: str = "/"):
    doc = host.base_config()
    fstype = "tmpfs"
    for dest in destinations:
        doc["mounts"].append({"destination": dest, "type": fstype, "source": "tmpfs"})
    doc["process"]["cwd"] = cwd
    return doc


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
def test_escape_corpus_is_contained(make_host, backend):
    host = make_host(backend)
    h = _plant(host)
    corpus = _escapes(h)
    # (cwd through links is test_cwd_through_links_stays_inside; a created cwd stays)
    cwd = "/to_host/../up/to_host/cwd" if backend == "linux" else "/"
    host.write_config(_config(host, corpus.values(), cwd=cwd))
    res = host.create(host.cid)
    assert res.code == 0, res
    host.ok("start", host.cid)
    assert os.listdir(h) == [], f"the host directory was written: {os.listdir(h)}"
    inside = host.rootfs / h.lstrip("/")
    for name, dest in corpus.items():
        point = inside / dest.rsplit("/", 1)[1]
        assert point.is_dir(), f"{name}: {dest} did not land at {point}"
    if backend == "freebsd":
        for m in host.sim.snapshot()["mounts"]:
            assert m["target"].startswith(str(host.rootfs) + "/"), m
    else:
        pid = host.ok("state", host.cid).json()["pid"]
        with open(f"/proc/{pid}/mountinfo") as f:
            points = {line.split()[4] for line in f}
        for dest in corpus.values():
            assert f"{h}/{dest.rsplit('/', 1)[1]}" in points  # as the container sees it
        assert harness.host_mounts_under(h) == []
    host.ok("delete", "--force", host.cid)
    assert os.listdir(h) == []
    assert host.leaks() == []


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
@pytest.mark.parametrize("dest", ["/loop1/m", "/loop1", "/etc/passwd/m"])
def test_unresolvable_destination_fails_cleanly(make_host, backend, dest):
    host = make_host(backend)
    h = _plant(host)
    (host.rootfs / "etc" / "passwd").write_text("root:x:0:0::/:/bin/sh\n")
    if isinstance(host, harness.FreeBSDHost):
        host.rootfs_before = harness.tree(host.rootfs)
    host.write_config(_config(host, [dest]))
    res = host.create(host.cid)
    assert harness.one_clean_line(res), res
    assert os.listdir(h) == [] and host.state_dirs() == []
    assert host.leaks() == []


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
def test_cwd_through_links_stays_inside(make_host, backend):
    host = make_host(backend)
    h = _plant(host)
    (host.rootfs / h.lstrip("/")).mkdir(parents=True)  # the links' target, inside
    if isinstance(host, harness.FreeBSDHost):
        host.rootfs_before = harness.tree(host.rootfs)
    for cwd in ("/to_host/new", f"/up{h}/new2", "/etc/evil/../../../to_host/new3",
                "/dotdot/../to_host/new4"):
        host.write_config(_config(host, [], cwd=cwd))
        res = host.create(host.cid)
        assert res.code == 0, (cwd, res)
        host.ok("delete", "--force", host.cid)
        assert os.listdir(h) == [], (cwd, os.listdir(h))
    made = sorted(os.listdir(host.rootfs / h.lstrip("/")))
    assert made == ["new", "new2", "new3", "new4"], made
    if isinstance(host, harness.FreeBSDHost):  # runc also leaves a created cwd
        host.rootfs_before = harness.tree(host.rootfs)
    assert host.leaks() == []


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
def test_symlink_swapped_during_create_never_redirects_a_mount(make_host, backend):
    """A thread flips rootfs/flip between a directory and a link to the host dir while
    creates run: the check-then-use race (openat2 RESOLVE_IN_ROOT on Linux; on FreeBSD
    mount points are made by an O_NOFOLLOW walk from the jail root)."""
    host = make_host(backend)
    h = _plant(host)
    host.write_config(_config(host, ["/flip/sub/m"]))
    flip = host.rootfs / "flip"
    stop = threading.Event()

    def flipper():
        while not stop.is_set():
            try:
                if flip.is_symlink():
                    flip.unlink()
                    flip.mkdir()
                else:
                    shutil.rmtree(flip, ignore_errors=True)
                    os.symlink(h, flip)
            except OSError:
                pass
            time.sleep(0.0002)

    os.symlink(h, flip)
    thread = threading.Thread(target=flipper)
    thread.start()
    escaped = []
    try:
        for _ in range(6):
            res = host.create(host.cid)
            if res.code == 0:
                host.ok("delete", "--force", host.cid)
            else:  # (teardown may warn about the swapped path first)
                assert res.code == 1 and "Traceback" not in res.err, res
                assert res.err.strip().splitlines()[-1].startswith("pyocijail: "), res
                host.cli("delete", "--force", host.cid)
            if os.listdir(h):
                escaped.append(sorted(os.listdir(h)))
                shutil.rmtree(h)
                os.mkdir(h)
    finally:
        stop.set()
        thread.join()
    shutil.rmtree(flip, ignore_errors=True) if not flip.is_symlink() else flip.unlink()
    if isinstance(host, harness.FreeBSDHost):
        host.rootfs_before = harness.tree(host.rootfs)
    assert host.leaks() == []
    assert escaped == [], f"mount points made outside the rootfs: {escaped}"
