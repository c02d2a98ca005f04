"""cgroups.create walks again from the top when a parallel delete removes a shared parent."""

import errno

import pytest

from pyocijail.backends.linux import cgroups
from pyocijail.errors import KernelError


@pytest.mark.parametrize("code", [errno.ENOENT, errno.ENODEV])
def test_create_walks_again_when_a_shared_parent_is_removed(monkeypatch, code):
    """ENOENT (the directory is gone) and ENODEV (a file of a cgroup being removed) retry."""
    calls = []

    def make_path(group, undo, wanted, owner):
        calls.append(group)
        if len(calls) == 1:
            raise KernelError("read cgroup file", code, "/sys/fs/cgroup/cpuset/p/cpuset.cpus")

    monkeypatch.setattr(cgroups, "_make_path", make_path)
    cgroups.create(["g"], undo=[])
    assert calls == ["g", "g"]


def test_create_does_not_retry_other_errors(monkeypatch):
    def make_path(group, undo, wanted, owner):
        raise KernelError("create cgroup", errno.EACCES, "/sys/fs/cgroup/x")

    monkeypatch.setattr(cgroups, "_make_path", make_path)
    with pytest.raises(KernelError):
        cgroups.create(["g"], undo=[])
