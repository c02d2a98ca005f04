"""Test doubles for pyocijail, and what builds real bundles: the public testing API.

- `SimulatedKernel`: the strict FreeBSD jail/mount model (simkernel.py), a state
  file under flock, so create, start, kill and delete in separate processes share it;
- `FakeLibc`: FreeBSD's libc at the ctypes boundary over that model (fakelibc.py),
  so `backends/freebsd/libc.py`'s `LibcKernel` runs for real on Linux;
- `SimulatedHostKernel`: `LibcKernel` over `FakeLibc` and the fake base tools
  (simhost.py); `python -m pyocijail.testing.simhost SIM ARGS` is the CLI on it;
- `MemoryUndoLog`: an in-memory undo log for backend tests (freebsd_undo.py);
- `RecordingNsKernel`: the Linux backend's kernel seam (`backends/linux/kernel.py`'s
  `NsKernel`) as one ordered call log with injectable failures (nskernel.py), for
  mount, pivot, device and namespace tests without root;
- `make_bundle`, `make_rootfs`, `busybox_available`, `BUSYBOX`: real bundles from
  the host's busybox-static (bundles.py).

Real podman, buildah and containerd environments are in `testing.clients`.

Each name is imported when first used (`__getattr__` below): importing the
doubles costs ~40 ms and loads the FreeBSD backend, and `python -m
pyocijail.demo` imports `testing.bundles`, which runs this file first.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.testing.bundles import BUSYBOX, busybox_available, make_bundle, make_rootfs
    from pyocijail.testing.fakelibc import FakeLibc
    from pyocijail.testing.freebsd_undo import MemoryUndoLog
    from pyocijail.testing.nskernel import RecordingNsKernel
    from pyocijail.testing.simhost import SimulatedHostKernel
    from pyocijail.testing.simkernel import SimulatedKernel

#: Each public name and the module that defines it.
_HOMES = {
    "SimulatedKernel": "simkernel",
    "FakeLibc": "fakelibc",
    "SimulatedHostKernel": "simhost",
    "MemoryUndoLog": "freebsd_undo",
    "make_bundle": "bundles",
    "make_rootfs": "bundles",
    "busybox_available": "bundles",
    "BUSYBOX": "bundles",
    "RecordingNsKernel": "nskernel",
}

__all__ = ["BUSYBOX", "FakeLibc", "MemoryUndoLog", "RecordingNsKernel", "SimulatedHostKernel",
           "SimulatedKernel", "busybox_available", "make_bundle", "make_rootfs"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:  # not ours: lets `from pyocijail.testing import simhost` import it
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
