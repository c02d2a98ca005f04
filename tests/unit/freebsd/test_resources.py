"""rctl rules and cpuset lists."""

from __future__ import annotations

import pytest

from pyocijail.backends.freebsd.resources import check_cpu_list, check_rctl, rctl_rules
from pyocijail.errors import ConfigError
from pyocijail.spec.model import Cpu, Memory, Pids, Resources


def test_linux_resources_become_rctl_rules() -> None:
    """memory.limit, cpu quota/period and pids.limit map to rctl(8) rules."""
    res = Resources(memory=Memory(limit=1 << 20), cpu=Cpu(quota=25000, period=50000),
                    pids=Pids(limit=7))
    assert rctl_rules("j", res, None, []) == ("jail:j:memoryuse:deny=1048576",
                                              "jail:j:pcpu:deny=50", "jail:j:maxproc:deny=7")


def test_unlimited_values_make_no_rules() -> None:
    """-1 / 0 mean no limit."""
    res = Resources(memory=Memory(limit=-1), cpu=Cpu(quota=-1), pids=Pids(limit=0))
    assert rctl_rules("j", res, None, []) == ()


def test_annotation_rules_are_added_and_fields_win() -> None:
    """org.freebsd.rctl adds rules; a clash with linux.resources warns and loses."""
    warn: list[str] = []
    rules = rctl_rules("j", Resources(pids=Pids(limit=5)),
                       "maxproc:deny=9, nthr:log=100/process", warn)
    assert rules == ("jail:j:maxproc:deny=5", "jail:j:nthr:log=100/process")
    assert warn and "maxproc" in warn[0]


@pytest.mark.parametrize("rule", ["memory:deny=1g", "memoryuse:block=1g", "memoryuse:deny",
                                  "memoryuse=1g", "memoryuse:deny=lots",
                                  "memoryuse:throttle=1g", "memoryuse:deny=1g/thread",
                                  "pcpu:sigfoo=5"])
def test_bad_rctl_rules_are_rejected(rule: str) -> None:
    """Resources, actions, amounts and per-subjects are checked against rctl(8)."""
    with pytest.raises(ConfigError):
        check_rctl(rule)


def test_signal_and_throttle_actions() -> None:
    """sig* actions and throttle on I/O resources are accepted."""
    assert check_rctl("vmemoryuse:sigterm=1g")[1] == "sigterm"
    assert check_rctl("writebps:throttle=1m")[1] == "throttle"


@pytest.mark.parametrize("text", ["0", "0-3", "0-1,4,6-7", " 1 , 2 "])
def test_cpu_lists(text: str) -> None:
    """Comma separated CPUs and ranges are valid cpuset lists."""
    assert check_cpu_list(text)


@pytest.mark.parametrize("text", ["", "a", "3-1", "1-", "0-2048", "1,,2", "-1"])
def test_bad_cpu_lists(text: str) -> None:
    """Malformed or reversed ranges are refused."""
    with pytest.raises(ConfigError):
        check_cpu_list(text)


#: Rules whose names all exist but that kern_rctl.c `rctl_rule_add` refuses with
#: EOPNOTSUPP (racct_types flags in kern_racct.c), and one name the kernel lacks.
KERNEL_REFUSES = ["cputime:deny=10", "wallclock:deny=60", "readbps:deny=1m",
                  "writeiops:deny=100", "pcpu:throttle=50", "swapuse:deny=1g/process",
                  "nsem:log=5/process", "shmsize:sigterm=1m/process", "openfiles:siglibrt=10"]


@pytest.mark.parametrize("rule", KERNEL_REFUSES)
def test_rules_the_kernel_refuses_are_rejected(rule: str) -> None:
    """F6: deny on a resource that is not RACCT_DENIABLE (except memoryuse and pcpu),
    throttle on pcpu, per=process on a RACCT_SLOPPY resource, and `siglibrt`
    (not in kern_rctl.c's actionnames) fail at plan time, as the kernel would."""
    with pytest.raises(ConfigError):
        check_rctl(rule)


@pytest.mark.parametrize("rule", ["memoryuse:deny=1g", "pcpu:deny=50", "cputime:sigxcpu=10",
                                  "wallclock:log=60", "openfiles:deny=100/process",
                                  "swapuse:deny=1g/jail", "readbps:throttle=1m",
                                  "nthr:deny=50/process", "cputime:devctl=5"])
def test_rules_the_kernel_takes_are_accepted(rule: str) -> None:
    """The exceptions of rctl_rule_add: RSS and %CPU deny; signals, log and devctl
    on any resource; per=process where the resource is tracked per process."""
    assert check_rctl(rule)[0] == rule.split(":")[0]


def test_a_refused_annotation_fails_the_plan(tmp_path) -> None:
    """`org.freebsd.rctl` is checked when the plan is made: before the jail exists."""
    from pyocijail.backends.freebsd.plan import build_plan
    from tests.unit.freebsd.conftest import base_config, make_rootfs, spec_of

    make_rootfs(tmp_path / "bundle/rootfs")
    config = base_config(annotations={"org.freebsd.rctl": "maxproc:deny=10,cputime:deny=10"})
    with pytest.raises(ConfigError, match=r"cputime.*not a deniable resource"):
        build_plan("c1", spec_of(config), str(tmp_path / "bundle"), str(tmp_path / "state"))
