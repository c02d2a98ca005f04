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
