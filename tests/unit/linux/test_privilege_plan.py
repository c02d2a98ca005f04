"""Capability names and seccomp profile checks (no container needed)."""

from __future__ import annotations

import os

import pytest

from pyocijail.backends.linux import capabilities, seccomp
from pyocijail.errors import ConfigError
from pyocijail.lifecycle.update import parse_bytes
from pyocijail.spec import model


def test_capability_numbers_match_the_kernel_headers():
    assert capabilities.NUMBERS["CAP_CHOWN"] == 0
    assert capabilities.NUMBERS["CAP_SYS_ADMIN"] == 21
    assert capabilities.NUMBERS["CAP_AUDIT_WRITE"] == 29
    assert capabilities.NUMBERS["CAP_CHECKPOINT_RESTORE"] == 40


def test_parse_absent_and_partial_sets():
    assert capabilities.parse(None) is None
    sets = capabilities.parse(model.Capabilities(bounding=("CAP_KILL",)))
    assert sets.bounding == {5} and sets.effective == frozenset()


def test_parse_warns_about_unknown_and_refuses_malformed():
    warnings = []
    sets = capabilities.parse(model.Capabilities(effective=("CAP_KILL", "CAP_NEW_THING")),
                              warn=warnings.append)
    assert sets.effective == {5} and "CAP_NEW_THING" in warnings[0]
    with pytest.raises(ConfigError):
        capabilities.parse(model.Capabilities(effective=("chown",)))


def test_last_cap_is_the_kernels():
    with open("/proc/sys/kernel/cap_last_cap") as f:
        assert capabilities.last_cap() == int(f.read())


needs_libseccomp = pytest.mark.skipif(
    not any(os.path.exists(f"{d}/libseccomp.so.2") for d in
            ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/lib")),
    reason="libseccomp2 is not installed")


@needs_libseccomp
def test_seccomp_check_drops_unknown_names():
    warnings = []

    class Log:
        def warn(self, msg):
            warnings.append(msg)

    profile = model.Seccomp(default_action="SCMP_ACT_ERRNO", syscalls=(
        model.SeccompRule(names=("read", "bogus_call"), action="SCMP_ACT_ALLOW"),
        model.SeccompRule(names=("bogus_only",), action="SCMP_ACT_ALLOW")))
    checked = seccomp.check(profile, Log())
    assert [r.names for r in checked.syscalls] == [("read",)]
    assert "bogus_call" in warnings[0] and "bogus_only" in warnings[0]


@needs_libseccomp
def test_seccomp_filter_builds_podmans_argument_rules():
    """Several comparisons of one argument become separate rules (no libseccomp error)."""
    arg = model.SeccompArg
    profile = model.Seccomp(default_action="SCMP_ACT_ERRNO",
                            architectures=("SCMP_ARCH_X86_64", "SCMP_ARCH_X86"),
                            syscalls=(model.SeccompRule(
                                names=("personality",), action="SCMP_ACT_ALLOW",
                                args=(arg(index=0, value=0, op="SCMP_CMP_EQ"),
                                      arg(index=0, value=8, op="SCMP_CMP_EQ"))),))
    f = seccomp.Filter(seccomp.check(profile))
    assert f.program is not None and f.length > 0  # compiled now, not at load
    assert len(f.program.raw) == f.length * 8 and f.ctx is None


def test_errno_defaults_to_eperm():
    assert seccomp.action_value("SCMP_ACT_ERRNO", None) == seccomp.SCMP_ACT_ERRNO | 1
    assert seccomp.action_value("SCMP_ACT_ERRNO", 38) == seccomp.SCMP_ACT_ERRNO | 38


@pytest.mark.parametrize("text, value", [("512m", 512 << 20), ("1G", 1 << 30), ("100", 100),
                                         ("-1", -1), ("2KiB", 2048), ("1.5k", 1536)])
def test_update_sizes(text, value):
    assert parse_bytes(text) == value
