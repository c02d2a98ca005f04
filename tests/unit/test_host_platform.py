"""backends.host_platform is the one reading of sys.platform: liveness and
signal numbers follow it (monkeypatched here), not sys.platform of their own."""

from __future__ import annotations

import os
import signal

import pytest

from pyocijail import backends
from pyocijail.backends.freebsd import procinfo
from pyocijail.errors import UsageError
from pyocijail.process.signals import parse_signal
from pyocijail.state import liveness


def test_host_platform_reads_sys_platform(monkeypatch):
    monkeypatch.setattr("sys.platform", "freebsd15")
    assert backends.host_platform() == "freebsd"
    monkeypatch.setattr("sys.platform", "linux")
    assert backends.host_platform() == "linux"


def test_signal_range_follows_host_platform(monkeypatch):
    monkeypatch.setattr(signal, "NSIG", 128)
    monkeypatch.setattr(backends, "host_platform", lambda: "freebsd")
    assert parse_signal("128") == 128  # FreeBSD's NSIG is _SIG_MAXSIG itself
    monkeypatch.setattr(backends, "host_platform", lambda: "linux")
    with pytest.raises(UsageError):
        parse_signal("128")


def test_liveness_follows_host_platform(monkeypatch):
    """On "freebsd" the start time comes from procinfo (sysctl), on "linux" from /proc."""
    asked = []

    def kinfo(pid: int) -> str:
        asked.append(pid)
        return "kinfo-token"

    monkeypatch.setattr(procinfo, "start_time", kinfo)
    monkeypatch.setattr(backends, "host_platform", lambda: "freebsd")
    assert liveness.start_time(os.getpid()) == "kinfo-token"
    assert asked == [os.getpid()]
    monkeypatch.setattr(backends, "host_platform", lambda: "linux")
    with open(f"/proc/{os.getpid()}/stat", "rb") as f:
        stat = f.read()
    assert liveness.start_time(os.getpid()) == stat[stat.rfind(b")") + 2:].split()[19].decode()
    assert asked == [os.getpid()]
