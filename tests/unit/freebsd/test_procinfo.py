"""Liveness on FreeBSD: sysctl kern.proc.pid through `procinfo`, over the fake libc."""

from __future__ import annotations

import ctypes
import errno
import os
import subprocess
import sys
import time

import pytest

from pyocijail.backends.freebsd import procinfo
from pyocijail.testing.fakelibc import KINFO_PROC_SIZE, FakeLibc
from pyocijail.testing.simkernel import SimulatedKernel


@pytest.fixture
def libc(tmp_path) -> FakeLibc:
    return FakeLibc(SimulatedKernel.configure(str(tmp_path / "sim.json")))


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="the LP64 layout")
def test_kinfo_proc_offsets_are_freebsd_14s() -> None:
    """sys/sys/user.h on amd64/arm64: ki_pid at 72, ki_start at 336, ki_stat at 388."""
    head = procinfo.KinfoProcHead
    assert (head.ki_pid.offset, head.ki_start.offset, head.ki_stat.offset) == (72, 336, 388)
    assert ctypes.sizeof(procinfo.Timeval) == 16 and KINFO_PROC_SIZE == 1088


def test_a_live_process_has_psutils_token(libc: FakeLibc) -> None:
    """The token is psutil's create_time() float (tv_sec + tv_usec / 1e6), stable."""
    psutil = pytest.importorskip("psutil")
    token = procinfo.start_time(os.getpid(), libc)
    assert token is not None and token == procinfo.start_time(os.getpid(), libc)
    assert abs(float(token) - psutil.Process().create_time()) < 0.05


def test_gone_and_zombie_processes_are_not_alive(libc: FakeLibc) -> None:
    """ESRCH (no such pid) and ki_stat SZOMB both mean: not alive."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    deadline = time.monotonic() + 10
    while procinfo.start_time(child.pid, libc) is not None:
        assert time.monotonic() < deadline  # a zombie until reaped
        time.sleep(0.01)
    child.wait()
    assert procinfo.start_time(child.pid, libc) is None
    assert procinfo.start_time(0, libc) is None


def test_the_fake_answers_as_sysctl_kern_proc(libc: FakeLibc) -> None:
    """EINVAL for a KERN_PROC_PID name without exactly one pid; ENOMEM into a short
    buffer; a NULL old pointer gets the size (kern_proc.c sysctl_kern_proc)."""
    def call(names: list[int], size: int, buf: bool = True) -> tuple[int, int, int]:
        mib = (ctypes.c_int * len(names))(*names)
        out = ctypes.create_string_buffer(max(size, 1))
        length = ctypes.c_size_t(size)
        rc = libc.sysctl(mib, ctypes.c_uint(len(names)), out if buf else None,
                         ctypes.byref(length), None, ctypes.c_size_t(0))
        return rc, ctypes.get_errno(), length.value

    base = [procinfo.CTL_KERN, procinfo.KERN_PROC, procinfo.KERN_PROC_PID]
    assert call(base, 2048)[:2] == (-1, errno.EINVAL)
    assert call([*base, os.getpid()], 100)[:2] == (-1, errno.ENOMEM)
    assert call([*base, os.getpid()], 0, buf=False) == (0, 0, KINFO_PROC_SIZE)
