"""What start and exec say when the exec helper's execve fails or is refused.

The helper reports a failed execve as a record (errno) on the channel the
runtime reads; `start` and `exec` put it in the words a failed Python execve
had (`exec: "X": exec format error`), which podman maps to exit codes. A
seccomp profile that refuses execveat refuses the helper itself: the start
fails with that errno's words, never a plain execve of the program instead.
"""

from __future__ import annotations

import os

import pytest

from pyocijail.lifecycle.defaults import linux_config

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def _garbage_program(bundle_path: str) -> None:
    path = os.path.join(bundle_path, "rootfs", "bad")
    with open(path, "wb") as f:
        f.write(b"\x00not a program")
    os.chmod(path, 0o755)  # passes the lookup (regular, executable): execve fails


def test_a_failed_execve_at_start_is_worded_as_execve_says(runtime, bundle):
    """(A guard of the record's translation: the words were the same before the helper.)"""
    b = bundle(["/bad"])
    _garbage_program(b)
    runtime.ok("create", "--bundle", b, "secw1")
    res = runtime("start", "secw1")
    assert res.code == 1
    assert res.err.strip() == 'pyocijail: exec: "/bad": exec format error', res
    runtime.ok("delete", "--force", "secw1")


def test_a_failed_execve_at_exec_is_worded_as_execve_says(runtime, bundle):
    """(A guard, as above.)"""
    b = bundle(["sleep", "30"])
    _garbage_program(b)
    runtime.ok("create", "--bundle", b, "secw2")
    runtime.ok("start", "secw2")
    res = runtime("exec", "secw2", "/bad")
    assert res.code == 1
    assert res.err.strip() == 'pyocijail: exec: "/bad": exec format error', res
    runtime.ok("delete", "--force", "secw2")


@pytest.mark.parametrize("nnp", [True, False])
def test_a_profile_that_refuses_execveat_refuses_the_start(runtime, bundle, nnp):
    """The filter is loaded before the helper's execveat: a profile that refuses
    execveat (podman's and Docker's allow it) stops the start, in its errno's
    words, rather than exec the program from the host interpreter."""
    linux = dict(linux_config(["true"])["linux"])
    linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                        "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO",
                                      "errnoRet": 1}]}
    b = bundle(["sh", "-c", "echo ran > /ran"], linux=linux, process={"noNewPrivileges": nnp})
    runtime.ok("create", "--bundle", b, "secw3")
    res = runtime("start", "secw3")
    assert res.code == 1
    assert res.err.strip() == 'pyocijail: exec: "sh": operation not permitted', res
    assert not os.path.exists(os.path.join(b, "rootfs", "ran"))
    runtime.ok("delete", "--force", "secw3")
