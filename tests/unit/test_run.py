"""`run` makes the runtime a subreaper with each platform's own call and numbers
(the platform as `backends.host_platform` says)."""

from __future__ import annotations

import ctypes
import os
from typing import Any

import pytest

from pyocijail.lifecycle import run


class FakeFunction:
    def __init__(self, calls: list[tuple[str, tuple[Any, ...]]], name: str) -> None:
        self.calls, self.name, self.argtypes = calls, name, None

    def __call__(self, *args: Any) -> int:
        self.calls.append((self.name, args))
        return 0


class FakeLibc:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.procctl = FakeFunction(self.calls, "procctl")
        self.prctl = FakeFunction(self.calls, "prctl")
        FakeLibc.last = self

    last: FakeLibc


def test_freebsd_acquires_reaper_status(monkeypatch: pytest.MonkeyPatch) -> None:
    """FreeBSD: procctl(P_PID, getpid(), PROC_REAP_ACQUIRE=2, NULL) with id_t as
    int64 (sys/procctl.h; 5 is PROC_REAP_GETPIDS)."""
    monkeypatch.setattr(run.backends, "host_platform", lambda: "freebsd")
    monkeypatch.setattr(ctypes, "CDLL", FakeLibc)
    run.become_subreaper()
    lib = FakeLibc.last
    assert lib.calls == [("procctl", (0, os.getpid(), 2, None))]
    assert lib.procctl.argtypes == [ctypes.c_int, ctypes.c_int64, ctypes.c_int,
                                    ctypes.c_void_p]


def test_linux_sets_child_subreaper(monkeypatch: pytest.MonkeyPatch) -> None:
    """Linux: prctl(PR_SET_CHILD_SUBREAPER=36, 1)."""
    monkeypatch.setattr(run.backends, "host_platform", lambda: "linux")
    monkeypatch.setattr(ctypes, "CDLL", FakeLibc)
    run.become_subreaper()
    assert FakeLibc.last.calls == [("prctl", (36, 1, 0, 0, 0))]
