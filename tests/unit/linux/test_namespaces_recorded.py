"""Joining and making namespaces (`namespaces`, `LinuxBackend.isolate`) on the
recording kernel, without root."""

from __future__ import annotations

import errno
import os
from types import SimpleNamespace

import pytest

from pyocijail.backends.linux import namespaces
from pyocijail.backends.linux.backend import LinuxBackend
from pyocijail.backends.linux.libc import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    MS_BIND,
    MS_PRIVATE,
    MS_REC,
    MS_SLAVE,
)
from pyocijail.errors import KernelError
from pyocijail.testing.nskernel import RecordingNsKernel

RO = os.O_RDONLY | os.O_CLOEXEC


def _kernel(*paths: str) -> RecordingNsKernel:
    k = RecordingNsKernel()
    for path in paths:
        k.add_file(path)
    return k


def test_setns_all_retries_after_the_user_namespace_what_it_refused_before():
    """A namespace owned by the joined user namespace is refused (EPERM) until
    that one is joined: then it is joined again, after it."""
    k = _kernel("/ns/user", "/ns/net", "/ns/mnt")
    fds = [(kind, k.open(path, RO), path)
           for kind, path in (("user", "/ns/user"), ("network", "/ns/net"),
                              ("mount", "/ns/mnt"))]
    k.calls.clear()
    k.fail_next("setns", errno.EPERM)
    namespaces.setns_all(k, fds)
    assert k.trace() == [("setns", ("/ns/net", CLONE_NEWNET)),  # refused
                         ("setns", ("/ns/mnt", CLONE_NEWNS)),
                         ("setns", ("/ns/user", CLONE_NEWUSER)),
                         ("setns", ("/ns/net", CLONE_NEWNET))]


def test_without_a_user_namespace_a_refused_join_is_an_error():
    k = _kernel("/ns/net")
    fds = [("network", k.open("/ns/net", RO), "/ns/net")]
    k.fail_next("setns", errno.EPERM)
    with pytest.raises(KernelError) as e:
        namespaces.setns_all(k, fds)
    assert (e.value.op, e.value.errno, e.value.path) == (
        "join network namespace", errno.EPERM, "/ns/net")


def test_setns_path_opens_joins_and_closes():
    k = _kernel("/run/netns/a")
    namespaces.setns_path(k, "/run/netns/a", "network")
    assert k.trace() == [("open", ("/run/netns/a", RO, 0o777, None)),
                         ("setns", ("/run/netns/a", CLONE_NEWNET)),
                         ("close", ("/run/netns/a",))]
    with pytest.raises(KernelError) as e:
        namespaces.setns_path(k, "/run/netns/missing", "network")
    assert (e.value.op, e.value.errno) == ("open network namespace", errno.ENOENT)
    assert k.open_fds() == []


def test_the_pid_namespace_is_for_the_children_only():
    """unshare(CLONE_NEWPID) on the way in; our own pid namespace (an fd of it
    taken first) joined back on the way out, for the children made later."""
    k = _kernel("/proc/self/ns/pid")
    with namespaces.pid_namespace_for_children(k, None):
        assert k.names() == ["open", "unshare"]
    assert k.trace() == [("open", ("/proc/self/ns/pid", RO, 0o777, None)),
                         ("unshare", (CLONE_NEWPID,)),
                         ("setns", ("/proc/self/ns/pid", CLONE_NEWPID)),
                         ("close", ("/proc/self/ns/pid",))]


def test_a_refused_pid_unshare_leaves_no_fd():
    k = _kernel("/proc/self/ns/pid")
    k.fail_next("unshare", errno.EPERM)
    with pytest.raises(KernelError), namespaces.pid_namespace_for_children(k, None):
        pass
    assert k.open_fds() == []


class _Log:
    def debug(self, text: str) -> None:
        pass


def _plan(namespaces: list[tuple[str, str | None]]) -> SimpleNamespace:
    kinds = dict(namespaces)
    return SimpleNamespace(
        namespaces=namespaces, personality=None, hostname="box", domainname="example",
        session_keyring=None, rootfs_propagation=None, rootfs="/rootfs", mounts=(),
        bundle="/bundle", mount_label=None, devices=(), cgroups=(),
        has=lambda kind: kind in kinds, new=lambda kind: kind in kinds and kinds[kind] is None)


def test_isolate_joins_then_unshares_names_the_host_and_then_mounts():
    k = _kernel("/run/netns/a")
    k.add_dir("/rootfs/dev")
    plan = _plan([("network", "/run/netns/a"), ("mount", None), ("uts", None),
                  ("ipc", None), ("pid", None)])
    LinuxBackend(k, _Log()).isolate(plan, None)  # type: ignore[arg-type]
    names = k.names()
    assert names[:4] == ["open", "setns", "close", "unshare"]
    assert k.calls[3] == ("unshare", (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC,))
    assert k.calls[4:6] == [("sethostname", ("box",)), ("setdomainname", ("example",))]
    mounts = [a for n, a in k.calls if n == "mount"]
    assert mounts[:3] == [(None, "/", None, MS_SLAVE | MS_REC, None),  # first: no way back
                          (None, "/", None, MS_PRIVATE, None),  # the rootfs's parent: shared
                          ("/rootfs", "/rootfs", None, MS_BIND | MS_REC, None)]
    assert names.index("mknod") > names.index("mount")  # /dev after the root is bound
    assert k.open_fds() == []


@pytest.mark.parametrize(("network", "brought_up"), [
    ([("network", None)], True),  # a new network namespace: lo is down in it
    ([("network", "/run/netns/a")], False),  # joined: left as its owner set it up
    ([], False)])  # the host's: never touched
def test_lo_is_brought_up_only_in_a_new_network_namespace_right_after_unshare(
        network: list[tuple[str, str | None]], brought_up: bool) -> None:
    k = _kernel("/run/netns/a")
    k.add_dir("/rootfs/dev")
    plan = _plan([*network, ("mount", None), ("uts", None)])
    LinuxBackend(k, _Log()).isolate(plan, None)  # type: ignore[arg-type]
    names = k.names()
    assert k.lo_up is brought_up and names.count("loopback_up") == int(brought_up)
    if brought_up:  # in the namespace just made, before the mounts
        assert names.index("unshare") < names.index("loopback_up") < names.index("mount")
        assert k.calls[names.index("unshare")][1][0] & CLONE_NEWNET
    assert k.open_fds() == []


def test_with_a_user_namespace_an_unreachable_rootfs_is_named_before_it_is_bound():
    """The container's root must reach the rootfs: checked by an open of it once
    "/" is rslave, before the rootfs bind; refused, the error names the host uid."""
    k = _kernel()
    plan = _plan([("user", None), ("mount", None)])
    plan.uid_mappings = (SimpleNamespace(container_id=0, host_id=100000, size=65536),)
    k.add_dir("/rootfs/dev")
    LinuxBackend(k, _Log()).isolate(plan, None)  # type: ignore[arg-type]
    names = k.names()
    assert k.calls[names.index("open")] == (
        "open", ("/rootfs", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, 0o777, None))
    assert names.index("mount") < names.index("open") < names.index("mountinfo")
    k = _kernel()
    k.add_dir("/rootfs/dev")
    k.fail_next("open", errno.EACCES)
    with pytest.raises(KernelError) as e:
        LinuxBackend(k, _Log()).isolate(plan, None)  # type: ignore[arg-type]
    assert (e.value.op, e.value.errno, e.value.path) == ("open rootfs", errno.EACCES, "/rootfs")
    assert "host uid 100000" in str(e.value)
    assert [n for n in k.names() if n == "mount"] == ["mount"]  # "/" rslave, nothing bound
    assert k.open_fds() == []
